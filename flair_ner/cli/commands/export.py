"""``flair-ner export``: a stacked tagger as ONNX graphs, with its agreement with the torch model."""

from __future__ import annotations

import argparse
from pathlib import Path

from flair_ner.errors import ConfigError
from flair_ner.cli.common import add_data_options, positive, refuse_missing_models


def add(commands) -> None:
    """Declare the command and its options on the subcommand parser ``commands``."""
    export = commands.add_parser(
        "export",
        help="export a tagger to ONNX (predict --engine onnx runs it without torch)",
        description="Write a trained stacked tagger (CRF, BiLSTM, WordEmbeddings and FlairEmbeddings) as ONNX "
        "graphs with its dictionaries, CRF transitions and export.json into a new folder, measure its token "
        "agreement with the torch model on a sample, and print it.",
    )
    export.add_argument("--model", required=True, help="a shipped model's name (conllpp), a model file or a run folder")
    export.add_argument("--output", type=Path, required=True, help="the folder to write (new or empty)")
    export.add_argument("--quantize", choices=("none", "int8"), default="none",
                        help="none: fp32 weights (default); int8: onnxruntime's dynamic int8 quantisation")  # fmt: skip
    export.add_argument("--opset", type=positive(int), default=17, help="ONNX opset (default: 17)")
    export.add_argument("--sample", type=Path, default=None,
                        help="a CoNLL column file (token first) to measure the agreement on (default: the first "
                        "500 sentences of CoNLL++ test, from the cache or mirror)")  # fmt: skip
    export.add_argument(
        "--sample-size", type=positive(int), default=500, help="sentences of the sample used (default: 500)"
    )
    export.add_argument(
        "--min-agreement", type=positive(float), default=None, metavar="SHARE",
        help="token agreement with the torch model the export must reach on the sample, else nothing is written "
        "(default: 0.9999 for fp32, 0.999 for int8)",
    )  # fmt: skip
    add_data_options(export)
    export.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    refuse_missing_models([args.model])
    from flair_ner.predict.export import check_output, export_model, sample_sentences

    check_output(args.output)
    sample = sample_sentences(args.sample, args.sample_size, args.data_dir, args.mirror)
    from flair_ner.cli.console import quiet_third_party

    quiet_third_party(args.verbose)
    if args.min_agreement is not None and args.min_agreement > 1:
        raise ConfigError(f"command line: --min-agreement is a share of tokens, at most 1, got {args.min_agreement}")
    description = export_model(args.model, args.output, args.quantize, args.opset, sample, args.min_agreement)
    agreement = description["agreement"]
    print(
        f"{args.output}: {description['size_bytes'] / 1e6:.1f} MB, {description['export_seconds']:.0f} s; token agreement "
        f"with the torch model {100 * agreement['token_agreement']:.3f} % on {agreement['tokens']} tokens "
        f"({agreement['identical_sentences']} of {agreement['sentences']} sentences identical)"
    )
