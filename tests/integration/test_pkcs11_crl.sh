#!/usr/bin/env bash
# kb-test: alone (asserts a time bound or a resource figure: run with no other test beside it)
# test_crl.sh again with the issuing CA and OCSP signer keys in a SoftHSM2
# token (KB_TEST_PKCS11=1: kb_init makes the token and inits with
# --pkcs11-*): every signature that test checks is made by the token.
set -euo pipefail
export KB_TEST_PKCS11=1
. "$(dirname "$0")/test_crl.sh"
