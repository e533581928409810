"""Generated contracts for fuzzing, and the promise each must keep: shared by tests/test_fuzz.py
(a bounded, fixed-seed sweep in the test suite) and bench/fuzz_campaign.py (the long campaign).

Contracts are made by mutating the lines of real contracts (`mutants`), cutting them anywhere
(`truncations`) and aiming at known bug classes (`targeted`); `exercise` compiles and runs one
and returns what broke the promise, or None.
"""
from __future__ import annotations

import io
import json
import random
import re
import traceback
from pathlib import Path

import mlcontract
from mlcontract import ContractError

STATUSES = {"pass", "fail", "warn", "error"}
# Other engineers are editing these; running them is slow (latency stress) and not what this
# file is about. Their lines are still compiled, just not run.
SLOW_KINDS = {"robustness", "latency"}

# ---- the vocabulary mutations draw from ---------------------------------------------------------
NAMES = ["training", "production", "holdout", "candidate", "prod", "run", "nosuch", "baseline", "schema",
         "feature", "rows", "latency", "x" * 3000, "été", "_", "a.b.c", "p99.9", "T" + "raining"]
KEYWORDS = ["contract", "dataset", "model", "history", "label", "ignore", "warn", "feature", "schema", "of", "vs",
            "between", "and", "matches", "on", "by", "not", "increasing", "decreasing", "handles", "in", "from",
            "with", "at", "over", "last", "baseline", "numeric", "categorical", "except", "*", "epochs", "folds",
            "bins", "tolerance", "batch", "seed", "calls", "concurrency", "average", "positive", "min_rows"]
STATISTICS = ["null_rate", "out_of_range_rate", "unseen_rate", "distinct", "unique_rate", "min", "max", "mean",
              "std", "median", "psi", "js", "hellinger", "linf", "kl", "chi2_pvalue", "ks", "ks_pvalue",
              "wasserstein", "wasserstein_norm", "p0", "p100", "p101", "p99.9", "p5.5.5", "p", "pNN",
              "out_of_range_rate(18, 100)", "out_of_range_rate(100, 18)", "out_of_range_rate(1)",
              "out_of_range_rate(-0, 1e-400)", "psi(1, 2)", "mean()", "mean(,)"]
MEASURES = ["auc", "accuracy", "f1", "cv auc", "cv auc std", "cv", "std", "latency", "p95 latency", "throughput",
            "rows", "val_loss", "train_loss", "epoch", "baseline most_frequent", "baseline", "auc on holdout",
            "auc on holdout by plan", "auc by"]
COLUMNS = ["age", "income", "tenure", "plan", "country", "churned", "customer_id", "`loan amount`", "`age`",
           "``", "`", "`a`b`", "`\t`", "`" + "c" * 2000 + "`"]
NUMBERS = ["0", "-0", "0.0", "1e400", "-1e400", "1e-400", "1e308", "4e-324", "00", "007", ".5", "0.", "5%",
           "0.5%", "100%", "1e3%", ".5%", "5 %", "300us", "300µs", "50ms", "2s", "2min", "1.5h", "1000 rows/s",
           "1000rows/s", "1 rows / s", "9" * 400, "99999999999999999999", "-1", "- 1", "--1", "- - -1", "1e",
           "1e+", "1.2.3", "0x10", "1_000", "NaN", "nan", "inf", "-inf", "+1", "½", "١٢٣", "１",
           "9" * 5000, "1e999999", "9007199254740993", "18446744073709551616"]
STRINGS = ['""', '"x"', '"data/train.parquet"', '"data/production.parquet"', '"runs/history.csv"',
           '"' + "a" * 300 + '"', '"\\\\"', '"\\""', '"#"', '"ünï😀"', '"\\t"', '"', "'x'", '"unterminated',
           '"\\N"', '"\\x4"', '"\\u12"', '"a\x00b"', '"\\0"', '"~nosuchuser/x.csv"', '"/"', '"."', '"data"',
           '"http://"', '"http://127.0.0.1:1/predict"', '"data/../data/train.parquet"',
           # half of a UTF-16 surrogate pair, a pair, a character beyond U+FFFF (issue 9)
           '"\\ud800"', '"a\\udfffb"', '"\\ud83d\\ude00"', '"\\ude00\\ud83d"', '"\\uDBFF"']
PUNCT = list("()[]{},;:=<>!+-*/%&|^~?@$#\\\"'`.") + ["<=", ">=", "==", "!=", "=<", "=>", "<>", "**", "//", "->",
                                                   "((", "))", "\\\n", "#", "\\ "]
ODD_CHARS = ["é", "µ", "😀", "\u200b", "\u00a0", "\ufeff", "\x00", "\t", "\x0c", "ـ", "ﬁ", "Ω", "\u202e", "０",
             "\u2028", "\x85", "\r", "\x1b[31m", "\x7f", "\ufffd", "\v"]
POOL = NAMES + KEYWORDS + STATISTICS + MEASURES + COLUMNS + NUMBERS + STRINGS + PUNCT

_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`\n]*`|[A-Za-z_][A-Za-z0-9_.]*|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?%?|'
                    r'<=|>=|==|!=|\s+|.', re.S)


def _tokens(line: str) -> list[str]:
    return _TOKEN.findall(line)


# ---- mutations ----------------------------------------------------------------------------------
def _mutate_line(line: str, rng: random.Random) -> str:
    tokens = _tokens(line)
    words = [i for i, t in enumerate(tokens) if not t.isspace()]
    op = rng.randrange(16)
    if not words or op == 0:  # truncate at a random position
        return line[: rng.randrange(len(line) + 1)]
    i = rng.choice(words)
    if op == 1:  # delete a token
        del tokens[i]
    elif op == 2:  # duplicate a token
        tokens.insert(i, tokens[i] + " ")
    elif op == 3 and len(words) > 1:  # swap two tokens
        j = rng.choice(words)
        tokens[i], tokens[j] = tokens[j], tokens[i]
    elif op in (4, 5, 6):  # replace a token with a word of any kind
        tokens[i] = rng.choice(POOL)
    elif op == 7:  # a name of every kind in this position
        tokens[i] = rng.choice(NAMES[:12] + COLUMNS[:7])
    elif op == 8:  # numbers: huge, tiny, signed zero, units
        numeric = [k for k in words if re.fullmatch(r"[\d.]+%?|\d+(?:ms|us|s)", tokens[k])] or [i]
        tokens[rng.choice(numeric)] = rng.choice(NUMBERS)
    elif op == 9:  # insert punctuation or an odd character somewhere inside the line
        at = rng.randrange(len(line) + 1)
        return line[:at] + rng.choice(PUNCT + ODD_CHARS) + line[at:]
    elif op == 10:  # nested parentheses / unary minus around a token (moderate depth)
        depth = rng.choice([1, 2, 5, 40])
        tokens[i] = ("(" * depth + tokens[i] + ")" * depth) if rng.random() < 0.5 else ("- " * depth + tokens[i])
    elif op == 11:  # whitespace: tabs, none at all, runs of it
        return rng.choice([line.replace(" ", "\t"), line.replace(" ", ""), line.replace(" ", "   \t "),
                           "\t" + line, line + " \t"])
    elif op == 12:  # unterminated quote / backtick, or a lone backslash
        at = rng.randrange(len(line) + 1)
        return line[:at] + rng.choice(['"', "`", "\\", "\\\\", '"\\']) + line[at:]
    elif op == 13:  # a trailing option or comparison
        return line + " " + rng.choice(["vs production", "vs training", "vs candidate", "vs run", "on holdout",
                                        "bins 0", "bins 1", "bins 2.5", "bins -1", "bins 1000000", "with 0 folds",
                                        "over last 0 epochs", "at batch 0", "tolerance -1", "seed 1e308",
                                        "< 1", "between 1 and 0", "# comment \\", "vs", "by plan", "by age"])
    elif op == 14:  # a comparison with a name of every kind on the right
        return re.sub(r"(<=|>=|==|!=|<|>)\s*\S+", lambda m: m.group(1) + " " + rng.choice(
            ["production", "training", "holdout", "candidate", "prod", "run", "baseline most_frequent",
             "production * 1e400", "production / 0", "-production", "(production)", "prod - 0.02",
             "production * production", "50ms", "1000 rows/s", "5%", "x" * 500]), line, count=1)
    else:  # splice in a fragment of another kind of statement
        return line + " " + rng.choice(["feature", "handles nulls in age", "schema matches production",
                                        "val_loss not increasing", "training rows >= 1", "warn"])
    return "".join(tokens)


def _mutate_text(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        op = rng.randrange(12)
        statements = [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]
        k = rng.choice(statements) if statements and rng.random() < 0.85 else rng.randrange(len(lines))
        if op <= 5:
            lines[k] = _mutate_line(lines[k], rng)
        elif op == 6:
            del lines[k]
        elif op == 7:
            lines.insert(k, lines[rng.randrange(len(lines))])
        elif op == 8:
            j = rng.randrange(len(lines))
            lines[k], lines[j] = lines[j], lines[k]
        elif op == 9:
            lines.insert(k, rng.choice(["\\", " \\", "\\\\", '"', "`", "\x00", "#\\", "(" * 30, ")", "warn",
                                        "label", "ignore", "contract", 'contract ""', 'contract "a"\ncontract "b"',
                                        "dataset", "dataset x =", 'dataset x = parquet()', "model m = sklearn(",
                                        "history h = csv('x')", "feature", "feature *", "schema", "handles"]))
        elif op == 10:
            lines[k] = lines[k] + " \\"  # a continuation onto the next line
        else:
            lines[k] = lines[k][: rng.randrange(len(lines[k]) + 1)]
    out = "\n".join(lines)
    whole = rng.randrange(14)
    if whole == 0:
        out = out.replace("\n", "\r\n")
    elif whole == 1:
        out = "\ufeff" + out
    elif whole == 2:
        out = out.rstrip("\n")
    elif whole == 3:
        out = out + "\\"
    elif whole == 4:
        out = out.replace("\n", "\n\n\n")
    return out


def targeted(text: str, seed: int, count: int) -> list[str]:
    """Mutants aimed at each known bug class, so that every class is reached whatever the seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        lines = text.split("\n")
        statements = [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]
        k = rng.choice(statements)
        kind = rng.randrange(5)
        if kind == 4:  # a path with a file name longer than the file system allows
            quoted = [i for i in statements if re.search(r"^(dataset|history)\b.*\"", lines[i])] or [k]
            k = rng.choice(quoted)
            lines[k] = re.sub(r'"[^"]*"', lambda m: '"' + "n" * rng.choice([256, 300, 5000]) + '.parquet"', lines[k], 1)
        elif kind == 0:  # a string literal with a bad escape, a NUL or a backslash before a CR
            quoted = [i for i in statements if '"' in lines[i]] or [k]
            k = rng.choice(quoted)
            lines[k] = lines[k].replace('"', '"' + rng.choice(["\\N", "\\x4", "\\u12", "\x00", "\\\r", "\\ud800"]), 1)
        elif kind == 1:  # a huge number where an integer is expected
            lines[k] += rng.choice([" bins 1e400", " over last 1e400 epochs", " bins " + "9" * 400])
        elif kind == 2:  # the last statement continues past the end of the file
            return_text = "\n".join(lines).rstrip("\n") + rng.choice([" \\", " \\\n", "\\"])
            out.append(return_text)
            continue
        else:  # a line separator that only str.splitlines() knows, then an error further down
            at = rng.randrange(len(lines[k]) + 1)
            lines[k] = lines[k][:at] + rng.choice(["\x0c", "\x0b", "\x85", "\u2028", "\r"]) + lines[k][at:]
            lines.append(rng.choice(["feature agee mean < 1", "training rows >= nosuch", "feature age psi 0.2"]))
        out.append("\n".join(lines))
    return out


def truncations(text: str, step: int) -> list[str]:
    """The text cut at every `step`-th character: every statement, cut anywhere."""
    return [text[:n] for n in range(0, len(text) + 1, step)]


def mutants(text: str, seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return [_mutate_text(text, rng) for _ in range(count)]


# ---- the oracle -------------------------------------------------------------------------------------
def exercise(text: str, base_dir: Path, run: bool = True, strict: bool = False) -> str | None:
    """Compile (and run) one contract; return a description of what broke the promise, or None.
    `strict`: an `error` result whose message is a bare library exception (`TypeError: ...`) counts
    too — it fails closed, but the user gets no explanation."""
    try:
        contract = mlcontract.compile(text, base_dir=base_dir)
    except ContractError as error:
        return _check_diagnostics(error, text)
    except RecursionError:
        return "RecursionError escaped compile()"
    except Exception:
        return "compile() raised " + _last_lines(traceback.format_exc())
    try:
        contract.explain()
        json.loads(contract.explain(as_json=True))
    except Exception:
        return "explain() raised " + _last_lines(traceback.format_exc())
    if not run or any(check.kind in SLOW_KINDS for check in contract.checks):
        return None
    try:
        result = contract.run()
    except Exception:
        return "run() raised " + _last_lines(traceback.format_exc())
    return _check_result(result, strict)


_LARK_NAMES = re.compile(r"(?<![`\w])(NAME|NUMBER|STRING|COMPARATOR|_NL|\$END|QUOTED_NAME|ADD_OP|MUL_OP|PERCENT|"
                         r"DURATION|RATE_UNIT|TREND|LPAR|RPAR|COMMA|EQUAL|__ANON_\d+)(?![`\w])")


def _check_diagnostics(error: ContractError, text: str) -> str | None:
    if not error.diagnostics:
        return f"ContractError without a diagnostic: {str(error)!r}"
    physical = text.split("\n")
    for d in error.diagnostics:
        if not isinstance(d.message, str) or not d.message.strip():
            return f"diagnostic without a message: {d!r}"
        words = f"{d.message} {d.hint or ''}"
        if "Traceback" in words or _LARK_NAMES.search(words):
            return f"a parser token name reached the user: {words!r}"
        span = d.span
        if span is None:  # every diagnostic of a contract points into it (issue 9)
            return f"a diagnostic without a location: {d.message!r}"
        if not (1 <= span.line <= len(physical) and span.column >= 1):
            return f"span outside the text: {span} for {d.message!r} ({len(physical)} lines)"
        if not (0 <= span.start <= span.end <= len(text) + 1):
            return f"span offsets outside the text: {span} for {d.message!r} (len {len(text)})"
        shown = error.source.line(span.line) if error.source else None
        if shown is not None and shown.rstrip("\r") != physical[span.line - 1].rstrip("\r"):
            return f"diagnostic at line {span.line} shows {shown!r}, but that line is {physical[span.line - 1]!r}"
    try:
        rendered = error.render()
        str(error)
    except Exception:
        return "rendering the diagnostics raised " + _last_lines(traceback.format_exc())
    if "Traceback" in rendered:
        return "a traceback in the rendered diagnostics"
    return None


_RAW_EXCEPTION = re.compile(r"^(\w*(Error|Exception|Invalid)|internal error)\b")


def _check_result(result, strict: bool = False) -> str | None:
    from rich.console import Console

    from mlcontract.report.formats.terminal import render, summary_line

    for check in result.checks:
        if check.status not in STATUSES:
            return f"status {check.status!r} of line {check.line}"
        if check.message.startswith("internal error") or (strict and _RAW_EXCEPTION.match(check.message)):
            return f"line {check.line} `{check.source}`: {check.message}"
    should_pass = not any(c.status == "error" or (c.status == "fail" and c.blocking) for c in result.checks)
    if result.passed != should_pass:
        return f"passed={result.passed} but statuses {[(c.status, c.blocking) for c in result.checks]}"
    if any(c.blocking and c.status in ("fail", "error") for c in result.checks) and result.passed:
        return "a blocking check failed but the gate passed"
    if sum(result.counts.values()) != len(result.checks):
        return f"counts {result.counts} do not add up to {len(result.checks)} checks"
    try:
        json.loads(result.to_json())
        for verbose in (False, True):
            render(result, Console(file=io.StringIO(), width=120), verbose)
        summary_line(result)
    except Exception:
        return "reporting raised " + _last_lines(traceback.format_exc())
    return None


def _last_lines(text: str, n: int = 4) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-n:])
