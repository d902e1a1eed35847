"""Runs inside a venv with LLaMA-Factory: loads a mella `--format sharegpt` export with LLaMA-Factory's own
dataset code (dataset_info.json parser, file loader, sharegpt converter, media_dir resolution)."""
import json, os, sys
from llamafactory.data.parser import get_dataset_list
from llamafactory.data.loader import _load_single_dataset
from llamafactory.hparams import DataArguments, ModelArguments
from transformers import Seq2SeqTrainingArguments

folder = sys.argv[1]
names = list(json.load(open(os.path.join(folder, "dataset_info.json"))))
data_args = DataArguments(dataset_dir=folder, dataset=names)
model_args = ModelArguments(model_name_or_path="none")
training_args = Seq2SeqTrainingArguments(output_dir=os.path.join(folder, "_lf_out"))
for attr in get_dataset_list(names, folder):
    ds = _load_single_dataset(attr, model_args, data_args, training_args)
    for row in ds:
        assert [m["role"] for m in row["_prompt"]] == ["user"] and [m["role"] for m in row["_response"]] == ["assistant"], row
        assert row["_prompt"][0]["content"].count("<image>") == len(row["_images"]) == 1
        assert all(os.path.isfile(p) for p in row["_images"]), row["_images"]  # resolved under dataset_dir
    print(json.dumps({"dataset": attr.dataset_name, "rows": len(ds), "first_image": ds[0]["_images"][0]}))
