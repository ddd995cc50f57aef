/*
 * est.h: the EST module's public face (RFC 7030; DESIGN.md "Issuance").
 *
 * Not built yet: this header fixes the module's limits and its boundary.
 * est/ will receive what it needs from bridge/ through a struct of
 * callbacks (is this key registered and active, record this certificate,
 * sign this TBS through the signer) and never includes ledger/ or ocsp/.
 */
#ifndef KEYBRIDGE_EST_H
#define KEYBRIDGE_EST_H

#define EST_MAX_BODY     65536	/* bytes of a CSR request body */
#define EST_SERIAL_BITS  128	/* serials from the CSPRNG, positive */
#define EST_MIN_RSA_BITS 2048

#endif
