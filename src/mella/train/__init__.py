"""Supervised fine-tuning of vision-language models on mella exports (TRL + peft), and the ablation."""
