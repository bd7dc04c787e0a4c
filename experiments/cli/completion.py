"""Shell completion for ``siyu``: a bash script generated from the parser, so it never lags behind the commands.

Enable it with ``eval "$(siyu --completion)"`` in ``~/.bashrc`` (zsh: after ``autoload bashcompinit &&
bashcompinit``). It completes commands, their options and the values of options with fixed choices; other words
complete as files.
"""

from __future__ import annotations

import argparse


def words(parser: argparse.ArgumentParser) -> list[str]:
    """Option strings and fixed choices of one parser (no subcommands)."""
    out: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        out += [s for s in action.option_strings if s.startswith("--")]
        if not action.option_strings and action.choices:
            out += [str(c) for c in action.choices]
    return out


def option_choices(parsers: list[argparse.ArgumentParser]) -> dict[str, list[str]]:
    """Options with fixed choices (``--algo``) and the values they take."""
    return {s: [str(c) for c in a.choices] for p in parsers for a in p._actions
            if a.option_strings and a.choices for s in a.option_strings if s.startswith("--")}


def bash_script(parser: argparse.ArgumentParser) -> str:
    """A bash completion function for ``parser.prog`` and the ``complete`` line that registers it."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    cases = "\n".join(f"    {name}) opts=\"{' '.join(words(p))}\" ;;" for name, p in sub.choices.items())
    top = " ".join(list(sub.choices) + words(parser))
    values = "\n".join(f"    {opt}) COMPREPLY=($(compgen -W \"{' '.join(c)}\" -- \"$cur\")); return ;;"
                       for opt, c in option_choices(list(sub.choices.values())).items())
    return f"""_siyu() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}" opts
  case "$prev" in
{values}
  esac
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "{top}" -- "$cur")); return
  fi
  case "${{COMP_WORDS[1]}}" in
{cases}
    *) opts="" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}}
complete -o default -F _siyu {parser.prog}
"""
