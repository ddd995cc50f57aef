#!/usr/bin/env bash
# test_ca_rollover.sh's overlap again with the issuing CA and OCSP signer
# keys in a SoftHSM2 token (KB_TEST_PKCS11=1: kb_init makes the token and
# inits with --pkcs11-*): `ca rollover` makes the new CA's keys in that
# token (issuing.uri, ocsp.uri instead of key files), and every signature
# the test checks, of both issuers, is made by the token.
set -euo pipefail
export KB_TEST_PKCS11=1
. "$(dirname "$0")/test_ca_rollover.sh"
