"""Evaluation: culture (keyword accuracy) x language (METEOR, BLEU, ROUGE-L, chrF, language fidelity)."""
