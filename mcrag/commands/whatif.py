"""``mcrag whatif``: do() effects and single-case counterfactuals on the trusted graph and a data table."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.console import Console

from mcrag.commands.args import TRUSTED_DEFAULT, data_file, status_list
from mcrag.commands.common import PlainTable as Table
from mcrag.commands.common import StoreOption, open_configured_store, settings_for
from mcrag.commands.output import print_json, signed
from mcrag.errors import UserInputError

console = Console()


def _assignments(text: str, what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in [p for p in text.split(",") if p.strip()]:
        name, sep, value = part.partition("=")
        if not sep:
            raise UserInputError(f"{what}: expected NAME=VALUE, got {part!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise UserInputError(f"{what}: {value!r} is not a number") from None
    return out


def whatif(
    data: str = typer.Option(..., "--data", "-d", help="CSV / Parquet table the model is fitted to."),
    do: str = typer.Option(..., "--do", help="Intervention, e.g. 'Effusion=0' (several: 'A=1,B=0')."),
    outcome: list[str] = typer.Option([], "--outcome", "-o", help="Outcome variable(s) (default: all affected)."),
    case: str | None = typer.Option(None, help="A single case's observed values, e.g. 'Effusion=1,Atelectasis=1'."),
    case_id: str | None = typer.Option(None, "--case-id", help="A single case: the row with this report id."),
    control: float = typer.Option(0.0, help="Reference value for the do() contrast."),
    statuses: str = typer.Option(TRUSTED_DEFAULT, help="Claim statuses the model rests on."),
    draws: int = typer.Option(4000, help="Monte Carlo draws for counterfactuals."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of text."),
    store: str | None = StoreOption,
) -> None:
    """do(X=x) effects on Y from the validated graph, or for one case: what if X had been different."""
    from reasoning.whatif import WhatIfError, case_from_table, counterfactual, intervene, whatif_model

    path = data_file(data)
    setting = _assignments(do, "--do")
    if not setting:
        raise UserInputError("--do needs NAME=VALUE")
    with open_configured_store(settings_for(store), create=False) as st:
        model = whatif_model(st, path, statuses=status_list(statuses))
    try:
        if case is not None or case_id is not None:
            facts = _assignments(case, "--case") if case else case_from_table(model, path, str(case_id))
            result = counterfactual(model, facts, setting, outcomes=outcome or None, draws=draws)
            if as_json:
                print_json(asdict(result))
                return
            console.print(f"case: {result.case}", markup=False, highlight=False)
            table = Table("variable", "factual", "counterfactual (mean / P present)", "P(changed)",
                          title=f"what if {result.intervention}")
            for o in result.outcomes:
                table.add_row(o.label, "" if o.factual is None else f"{o.factual:g}", f"{o.counterfactual:.3f}",
                              "" if o.probability_changed is None else f"{o.probability_changed:.3f}")
            console.print(table)
            return
        if len(setting) != 1:
            raise UserInputError("an average do() effect takes one variable in --do (several work with --case)")
        (treatment, value), = setting.items()
        if not outcome:
            raise UserInputError("give --outcome for a do() effect")
        results = [intervene(model, treatment, y, value=value, control=control) for y in outcome]
    except WhatIfError as err:
        raise UserInputError(str(err)) from None
    if as_json:
        print_json([asdict(r) for r in results])
        return
    for r in results:
        if not r.estimable:
            console.print(f"do({r.treatment}={r.value:g}) on {r.outcome}: {r.reason}", markup=False, highlight=False,
                          soft_wrap=True)
            continue
        if not r.identified:
            console.print(f"do({r.treatment}={r.value:g}) on {r.outcome}: not identifiable: {r.reason}",
                          markup=False, highlight=False)
            continue
        console.print(f"E[{r.outcome} | do({r.treatment}={r.value:g})] = {r.expected:.4f}   "
                      f"vs do({r.treatment}={r.control:g}): {r.expected_control:.4f}   "
                      f"effect {signed(r.effect, 4)} [{signed(r.ci_low, 4)}, {signed(r.ci_high, 4)}]   "
                      f"(observed mean {r.observed_mean:.4f}, n={r.samples})", markup=False, highlight=False)
        console.print(f"  {r.estimand}; {r.estimator}{'; ' + r.reason if r.reason else ''}",
                      markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``whatif`` to the ``mcrag`` app."""
    app.command("whatif")(whatif)
