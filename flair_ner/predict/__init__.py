"""Using a trained model: ``records`` (input and output records, no torch), ``segment`` (tokens with offsets),
``tagging`` (the torch engine), ``export`` + ``runtime`` (ONNX export and the torch-free engine), ``benchmark``
and ``serve``. This ``__init__`` imports nothing, so the ONNX engine loads without torch.
"""
