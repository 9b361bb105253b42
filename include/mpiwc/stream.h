/*
 * stream: standard input, read by rank 0 and handed out to every rank in
 * pieces, so that `zcat big.gz | mpirun -np 4 mpiwc -` keeps all ranks busy.
 *
 * Each round, rank 0 fills a buffer from standard input (decoding it first
 * when its first bytes are a compressed format, codec.h), cuts the buffer
 * after its last ASCII whitespace byte (space, \t, \n, \f, \r: a word
 * separator under every split rule, mpiwc_boundary_breaks_always()), keeps the rest for the
 * next round, and cuts the part before into one piece per rank, every cut again just after a
 * whitespace byte. No word is ever cut, so each piece is tokenized as a
 * stream of its own and the counts do not depend on the rank count. A run
 * without whitespace longer than the buffer grows the buffer until it ends
 * (memory grows with the longest such run, as the tokenizer's does).
 *
 * Pieces travel with MPI_Scatter (lengths and a state) and MPI_Scatterv
 * (bytes, each piece < INT_MAX). A round holds up to piece * nranks bytes,
 * at most 64 MiB (or piece, if more).
 *
 *     mpiwc_stream_scatter(STDIN_FILENO, 4 << 20, false, comm, &tok, &bytes, &read_s, hook, ctx,
 *                          err, len);
 *
 * Layer: collective over comm.
 */
#ifndef MPIWC_STREAM_H
#define MPIWC_STREAM_H

#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpiwc/tokenize.h"

/*
 * Collective over comm. Rank 0 reads fd to its end (with drop_bom, for
 * --compat=hadoop, less a UTF-8 byte order mark at the start of the text,
 * decoded or not); every rank tokenizes its
 * pieces into tok (ending the stream after each piece), adds their bytes to
 * *bytes (rank 0 adds its time reading and decoding fd to *read_s), and
 * calls after(ctx) (may be NULL) after each round, on every rank in the same
 * round: the hook may run collectives. Returns 0 on every rank, or -1 on
 * every rank when rank 0 could not read or decode the input, with "standard
 * input: reason" in err on rank 0 (err[0] == '\0' elsewhere).
 */
int mpiwc_stream_scatter(int fd, size_t piece, bool drop_bom, MPI_Comm comm,
                         struct mpiwc_tokenizer *tok, uint64_t *bytes, double *read_s,
                         void (*after)(void *ctx), void *ctx, char *err, size_t errlen);

/*
 * Local. Where rank 0 cuts buf[0..len): returns the length handed out this
 * round, len at the end of the input (eof), else up to and including the
 * last whitespace byte (0 if there is none: read more); fills cut[0..n]
 * with the pieces' edges: cut[0] = 0, cut[n] = the length returned, each
 * other cut just after a whitespace byte (or at the returned length), nondecreasing,
 * at or after k * length / n.
 */
size_t mpiwc_stream_cut(const uint8_t *buf, size_t len, bool eof, size_t *cut, int n);

#endif
