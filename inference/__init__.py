"""The inference core: settings, preprocessing and the segment → classify → decide pipeline, the
learned input check, upload decoding and vetting (`imaging`, `dicom`, `input_errors`), and the batch
CLI (`predict`, `batch`).

Training, evaluation, export, the batch CLI (`python -m inference.predict`) and the web app all run
these same steps, so the numbers in the model card come from the code that serves patients.
It imports no web framework (tests/test_core_imports.py checks), so training needs no Flask.
"""
