"""D_ling: detailed English captions by an MLLM, machine-translated per language, with translation QA."""
