"""Runs inside a venv with ms-swift: loads a mella `--format swift` export with ms-swift's own dataset loader
(AutoPreprocessor, strict) and its image loader."""
import json, os, sys
from swift.dataset import load_dataset
from swift.template.vision_utils import load_image

folder = os.path.abspath(sys.argv[1])
os.chdir(folder)  # ms-swift reads relative image paths from the working directory
for split in ("train", "validation", "test"):
    train, _ = load_dataset([os.path.join(folder, f"{split}.jsonl")], strict=True)
    for row in train:
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["user", "assistant"], roles
        assert row["messages"][0]["content"].count("<image>") == len(row["images"]) == 1
        image = load_image(row["images"][0]["path"] if isinstance(row["images"][0], dict) else row["images"][0])
        assert image.size[0] > 0
    print(json.dumps({"split": split, "rows": len(train), "columns": train.column_names}))
