"""Stages parse and transform: contract text → typed AST (language.ast), with located diagnostics."""
