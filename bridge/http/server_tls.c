/*
 * server_tls.c: the TLS server context of the HTTPS listener (http.h):
 * TLS 1.2 and 1.3, forward-secret AEAD suites only, session resumption,
 * an optional client certificate whose verification outcome is left to
 * the handlers.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "ledger/ledger.h"
#include "bridge/http/http.h"

#define SERVER_SESSION_CTX	"keybridge"	/* TLS session id context */
/* TLS 1.2 suites: forward secrecy and AEAD only (TLS 1.3 suites are
 * OpenSSL's defaults, which are all AEAD). */
#define SERVER_TLS12_CIPHERS \
	"ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!eNULL"

/* Writes the first OpenSSL error (or fallback) into err and clears the
 * queue. */
static void
server_ssl_err(char *err, size_t errlen, const char *what, const char *path)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "";

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s%s%s%s%s", what, path ? " " : "",
	    path ? path : "", e ? ": " : "", buf);
	ERR_clear_error();
}

/* Client certificates are requested but optional, and a certificate that
 * does not verify does not fail the handshake: the outcome stays in
 * SSL_get_verify_result() for the handler that cares (EST re-enrollment
 * needs X509_V_OK), while /cacerts and the API keep working for clients
 * that present some unrelated certificate. */
static int
server_verify_cb(int ok, X509_STORE_CTX *store)
{
	return 1;
}

SSL_CTX *
server_tls_ctx(const char *cert_chain, const char *key, const char *client_ca,
    char *err, size_t errlen)
{
	STACK_OF(X509_NAME) *names = NULL;
	SSL_CTX *ctx = NULL, *ret = NULL;
	EVP_PKEY *pkey = NULL;
	char why[512];

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		server_ssl_err(err, errlen, "cannot create TLS context", NULL);
		goto out;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		server_ssl_err(err, errlen, "cannot set TLS versions", NULL);
		goto out;
	}
	if (SSL_CTX_set_cipher_list(ctx, SERVER_TLS12_CIPHERS) != 1) {
		server_ssl_err(err, errlen, "cannot set TLS 1.2 ciphers", NULL);
		goto out;
	}
	/* Renegotiation is a DoS lever and unused by any client we serve;
	 * let the client pick among our (all strong) suites. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION);
	/* A connection waiting for its client (a slow or idle one) holds no
	 * 16 KiB read and write buffers: OpenSSL frees them between
	 * records (nginx does the same); issue 16's storms. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_chain) != 1) {
		server_ssl_err(err, errlen, "cannot load TLS certificate chain",
		    cert_chain);
		goto out;
	}
	/* The key through ledger_key_load, as every other key file: a
	 * regular file of mode 0600 (group or others may not read it),
	 * checked on the open descriptor. */
	if ((pkey = ledger_key_load(key, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "cannot load TLS key: %s", why);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
		server_ssl_err(err, errlen, "cannot load TLS key", key);
		goto out;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		server_ssl_err(err, errlen, "TLS key does not match certificate",
		    key);
		goto out;
	}
	/* Resumption: server-side session cache (TLS 1.2 session ids) and
	 * tickets (OpenSSL's default, left on).  The id context must be set
	 * or resumed sessions fail once client certificates are requested. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	if (SSL_CTX_set_session_id_context(ctx,
	    (const unsigned char *)SERVER_SESSION_CTX,
	    sizeof(SERVER_SESSION_CTX) - 1) != 1) {
		server_ssl_err(err, errlen, "cannot set session id context",
		    NULL);
		goto out;
	}
	/* RFC 7030 3.3.2: requested, optional (see server_verify_cb). */
	if (client_ca == NULL)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	else {
		if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1 ||
		    (names = SSL_load_client_CA_file(client_ca)) == NULL) {
			server_ssl_err(err, errlen, "cannot load client CAs",
			    client_ca);
			goto out;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, server_verify_cb);
	}
	ret = ctx;
	ctx = NULL;
out:
	EVP_PKEY_free(pkey);	/* the context holds its own reference */
	SSL_CTX_free(ctx);
	return ret;
}

/* See http.h. */
SSL_CTX *
server_tls_ctx_like(SSL_CTX *like, const char *cert_chain, const char *key,
    char *err, size_t errlen)
{
	STACK_OF(X509_NAME) *names = NULL;
	SSL_CTX *ctx;
	X509_STORE *st;

	if ((ctx = server_tls_ctx(cert_chain, key, NULL, err, errlen)) == NULL)
		return NULL;
	if (SSL_CTX_get_verify_mode(like) == SSL_VERIFY_NONE)
		return ctx;
	/* shared, refcounted: read-only once the listener runs */
	st = SSL_CTX_get_cert_store(like);
	if (st == NULL || X509_STORE_up_ref(st) != 1 ||
	    (names = SSL_dup_CA_list(SSL_CTX_get_client_CA_list(like))) ==
	    NULL) {
		server_ssl_err(err, errlen, "cannot copy the client CAs",
		    NULL);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_cert_store(ctx, st);	/* takes the reference */
	SSL_CTX_set_client_CA_list(ctx, names);	/* takes names */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, server_verify_cb);
	return ctx;
}

int
server_tls_add_client_ca(SSL_CTX *ctx, X509 *x)
{
	int rc = X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x) == 1 &&
	    SSL_CTX_add_client_CA(ctx, x) == 1 ? 0 : -1;

	ERR_clear_error();
	return rc;
}
