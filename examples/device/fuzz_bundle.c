/*
 * fuzz_bundle.c: libFuzzer target for the device's parsers (kbv.c):
 * a proof bundle (and, when it parses, the checks past the signatures:
 * the checkpoint body, both inclusion proofs, the consistency proof, the
 * entries, a status bundle's map proof and leaf), then the same bytes as a policy and as a state file.
 * `make fuzz` runs it under clang -fsanitize=fuzzer,address; built with
 * -DKBV_FUZZ_MAIN it is a plain program that runs each file given once
 * (`make test`: the corpus as a regression test).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* kbv.c itself, so that its static checks are reached too */
#include "kbv.c"

static uint8_t scratch[KBV_SCRATCH_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct kbv_bundle b;
	static struct kbv_policy p;
	struct checkpoint c = { 0 };
	struct kbv_span e[F_N];
	struct kbv_ask ask;
	char why[KBV_WHY_MAX], state[KBV_STATE_MAX], msg[2 * KBV_WHY_MAX];

	memset(&ask, 0, sizeof(ask));
	if (kbv_bundle_parse((const char *)data, len, scratch, sizeof(scratch),
	    &b, why, sizeof(why)) == 0) {
		/* what the parser returns points inside data or scratch */
		if (b.note.p < (const char *)data ||
		    b.note.p + b.note.len > (const char *)data + len ||
		    (b.entry.p != NULL && (b.entry.p < (const char *)scratch ||
		    b.entry.p + b.entry.len > (const char *)scratch +
		    sizeof(scratch))) || b.proof.n > KBV_PROOF_MAX ||
		    b.cons.n > KBV_PROOF_MAX || b.lproof.n > KBV_PROOF_MAX ||
		    b.sib.n > KBV_MAP_DEPTH)
			__builtin_trap();
		memset(&p, 0, sizeof(p));
		p.origin[0] = '\0';
		if (check_checkpoint(&p, b.note, &c, why, sizeof(why)) == 0 ||
		    (c.size = b.index + 1 + b.proof.n) != 0) {
			(void)inclusion(b.entry, b.index, c.size, &b.proof,
			    c.root);
			(void)inclusion(b.latest_entry, b.latest, c.size,
			    &b.lproof, c.root);
			(void)consistency(b.since, c.size, c.root, c.root,
			    &b.cons);
			(void)map_proof(&b, c.root);
			(void)parse_config(b.entry, e);
			(void)parse_config(b.latest_entry, e);
			(void)check_status(&b, &ask, &c, why, sizeof(why));
		}
	}
	(void)kbv_policy_parse((const char *)data, len, &p, why, sizeof(why));
	/* as a state file, checked before anything else of the bundle (one
	 * that parsed: kbv_verify is given no other) */
	if (b.note.p == NULL)
		b.note = (struct kbv_span){ "", 0 };
	memset(&ask, 0, sizeof(ask));
	ask.state = (struct kbv_span){ (const char *)data, len };
	(void)kbv_verify(&p, &b, &ask, state, sizeof(state), msg, sizeof(msg));
	return 0;
}

#ifdef KBV_FUZZ_MAIN
static uint8_t in[KBV_BUNDLE_MAX + 1];

int
main(int argc, char **argv)
{
	FILE *fp;
	size_t n;
	int i;

	for (i = 1; i < argc; i++) {
		if ((fp = fopen(argv[i], "rb")) == NULL) {
			fprintf(stderr, "fuzz_bundle: cannot read %s\n", argv[i]);
			return 1;
		}
		n = fread(in, 1, sizeof(in), fp);
		fclose(fp);
		LLVMFuzzerTestOneInput(in, n);
	}
	printf("fuzz_bundle: %d inputs, no crash\n", argc - 1);
	return 0;
}
#endif
