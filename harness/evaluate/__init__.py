"""The two ways a score is born, sharing one path: a bundle run (`submit.py`) and a predictions file
(`score_file.py`), both from one typed `RunRequest` (`request.py`), with one provenance builder (`provenance.py`)
and one recording path (`record.py`). Fold execution is harness.runner's; the boards are rendered by whoever
records (the CLI, the main job)."""
