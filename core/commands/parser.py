"""Answer-parser commands: train-parser (the reasoning reader) and evaluate-parser."""

from __future__ import annotations

import sys
from pathlib import Path

from core.llm import parser_eval
from core.llm.reasoning_reader import load_reader, save_reader, train_reader


def register(sub) -> None:
    p = sub.add_parser("train-parser",
                       help="train the reasoning reader that infers a label where an answer states none")
    p.add_argument("--data", default="../shared/data/imhi/train",
                   help="folder of IMHI training CSVs (query, gpt-3.5-turbo), e.g. train/DR/train.csv")
    p.add_argument("--output", help="reader folder to write (default: settings.reasoning_reader)")
    p.add_argument("--max-features", type=int, default=20000, help="TF-IDF vocabulary size")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=train_parser)

    p = sub.add_parser("evaluate-parser",
                       help="label coverage and accuracy of answer reading: MentaLLaMA's rule, stated, stated+inferred")
    p.add_argument("--data", default="../shared/data/imhi/examples",
                   help="folder of answers CSVs with goldens and generated_text (e.g. DR_generated.csv)")
    p.add_argument("--reader", help="reasoning reader folder (default: settings.reasoning_reader)")
    p.add_argument("--gold-answers", help="also score the reader alone on the reasoning of gold IMHI answers in this "
                                          "folder (e.g. ../shared/data/imhi/test; never used in training)")
    p.add_argument("--output", help="also write the markdown table here")
    p.set_defaults(func=evaluate_parser)


def train_parser(args, settings) -> int:

    out = Path(args.output) if args.output else Path(settings.reasoning_reader)
    reader = train_reader(Path(args.data), max_features=args.max_features, seed=args.seed,
                          log=lambda m: print(m, file=sys.stderr, flush=True))
    save_reader(reader, out)
    print(f"reasoning reader {reader.version} ({len(reader.tasks)} tasks: {', '.join(reader.tasks)}) written to {out}")
    return 0


def evaluate_parser(args, settings) -> int:

    reader = load_reader(Path(args.reader) if args.reader else Path(settings.reasoning_reader))
    table = parser_eval.write_markdown(parser_eval.evaluate_parser(Path(args.data), reader))
    if args.gold_answers:
        from core.llm.parser_eval import answers_markdown, evaluate_reader_on_answers

        table += ("\nThe reader alone on the reasoning of gold answers (label sentence removed):\n\n"
                  + answers_markdown(evaluate_reader_on_answers(Path(args.gold_answers), reader)))
    print(table)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(table, encoding="utf-8")
        print(f"written to {args.output}")
    return 0
