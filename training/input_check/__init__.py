"""The learned input check's training side: fit it (`fit`, `python -m training input-check`), the
non-ultrasound evaluation set (`non_ultrasound`) and its measurement (`python -m training.input_check.measure`).
What serves it is `inference.input_check`."""
