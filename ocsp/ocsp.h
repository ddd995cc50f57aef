/*
 * ocsp.h: the OCSP responder's public face (RFC 6960, RFC 5019; DESIGN.md
 * "Status").
 *
 * Not built yet: this header fixes the module's limits and its boundary.
 * ocsp/ will read certificate status through a read-only view that bridge/
 * fills from the ledger, keep pre-signed responses, and sign through the
 * signer interface; it never includes ledger/ or est/.
 */
#ifndef KEYBRIDGE_OCSP_H
#define KEYBRIDGE_OCSP_H

#define OCSPR_MAX_BODY    10240	/* bytes of a POSTed request */
#define OCSPR_MAX_CERTIDS 16	/* CertIDs answered in one request */

#endif
