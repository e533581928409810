"""`python -m mlcontract` and the `mlc` command (pyproject.toml's console script: `run`).

The cyclic garbage collector is switched off before the first import of the CLI: start-up
(typer, Polars, Lark, the CLI's set-up, compiling the contract) allocates hundreds of thousands
of long-lived objects, which it would walk several times to free nothing. cli._started()
switches it back on for the data and model work.
"""
import gc


def run() -> None:
    gc.disable()
    from .cli import entry

    entry()


if __name__ == "__main__":
    run()
