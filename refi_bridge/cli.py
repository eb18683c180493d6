"""The ``refi-bridge`` command: parse arguments, call one library function, report.

Every error refi_bridge raises on purpose becomes one line on stderr and exit status 1 (click keeps 2 for
usage errors); warnings are printed as ``warning:`` lines. Progress (what the command is doing, and a bar
for loops over many items) goes to stderr in every command, so that stdout carries only results. Ctrl-C
ends any command with one line and exit status 130, and no output half-written. Nothing imports this module.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import click

from refi_bridge import __version__
from refi_bridge.errors import RefiBridgeError, RefiBridgeWarning
from refi_bridge.formats.dialects import DIALECTS

INTERRUPTED = 130


class Interrupted(click.ClickException):
    """Ctrl-C: one line saying what was (not) written, exit status 130, no traceback."""

    exit_code = INTERRUPTED

    def show(self, file=None) -> None:  # noqa: ARG002 -- always stderr
        click.echo(("\n" if sys.stderr.isatty() else "") + self.message, err=True)


def _interrupted(before: int = 0) -> Interrupted:
    """The message for Ctrl-C: nothing was written, or (when it came as the outputs were put in place, and
    waited for that) what was. ``before`` is how many outputs the process had written when the command began."""
    done = [path for path in _written()[before:] if path.exists()]  # staged files removed again are gone
    if not done:
        return Interrupted("interrupted; nothing was written")
    return Interrupted(f"interrupted after writing {', '.join(str(p) for p in done)}")


def _written() -> list[Path]:
    """What the process has written, asked without importing anything: nothing is written before the module
    that writes is loaded (and a Ctrl-C may come while it loads)."""
    exchange = sys.modules.get("refi_bridge.formats.exchange")
    return getattr(exchange, "written", list)()


class _Group(click.Group):
    """Turns library errors into one-line messages, library warnings into ``warning:`` lines, and Ctrl-C
    (at any moment: while the arguments are read, too) into :class:`Interrupted`."""

    def make_context(self, *args, **kwargs) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt:
            raise _interrupted() from None

    def invoke(self, ctx: click.Context):
        before = 0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RefiBridgeWarning)
            try:
                before = len(_written())
                return super().invoke(ctx)
            except KeyboardInterrupt:
                raise _interrupted(before) from None
            except RefiBridgeError as error:
                raise click.ClickException(str(error)) from None
            except PermissionError as error:
                raise click.ClickException(f"{error.filename}: permission denied.") from None
            except OSError as error:
                if error.filename:
                    raise click.ClickException(f"{error.filename}: {error.strerror}.") from None
                raise
            finally:
                for item in caught:
                    if issubclass(item.category, RefiBridgeWarning):
                        click.echo(f"warning: {item.message}", err=True)


class _Terminal:
    """Progress on stderr: a line per step, a bar (click's) per counted loop. Where stderr is not a
    terminal the bar is replaced by its label, printed once."""

    def __init__(self) -> None:
        self.bar = None

    def step(self, text: str) -> None:
        click.echo(text, err=True)

    def start(self, text: str, total: int) -> None:
        self.bar = click.progressbar(length=total, label=text, file=sys.stderr, show_pos=True, width=30)
        self.bar.__enter__()

    def advance(self, done: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(done)

    def finish(self) -> None:
        if self.bar is not None:
            bar, self.bar = self.bar, None
            bar.__exit__(None, None, None)


def dialect_option(help_text: str):
    """``--dialect``, its choices read from the dialects themselves so that the two never drift apart."""
    tools = ", ".join(f"{d.name} for {d.tool}" for d in DIALECTS.values())
    return click.option("--dialect", default="refi", show_default=True,
                        type=click.Choice(list(DIALECTS), case_sensitive=False),
                        help=f"{help_text}: {tools}. docs/dialects.md says what each writes and why.")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="refi-bridge")
def cli() -> None:
    """Read, write, merge and compare REFI-QDA projects (.qdpx, .qde, .qdc) from every QDA tool.

    \b
    Example:
        refi-bridge demo                      # the whole pipeline on a bundled study
        refi-bridge inspect coder-a.qdpx      # what is in a file
    """


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def inspect(file: Path, as_json: bool) -> None:
    """Show what a .qdpx, .qde or .qdc file holds: origin, position unit, counts, coders.

    \b
    Example:
        refi-bridge inspect interviews.qdpx
        refi-bridge inspect interviews.qdpx --json | jq .coders
    """
    from refi_bridge.formats.exchange import read
    from refi_bridge.formats.summary import summarize

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)  # listed in the summary instead
        summary = summarize(read(file, progress=_Terminal()))
    if as_json:
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    click.echo(f"{file}  ({summary['kind']})")
    click.echo(f"  project        {summary['name'] or '-'}")
    click.echo(f"  origin         {summary['origin'] or '-'}")
    if summary["position_unit"]:
        click.echo(f"  positions      {summary['position_unit_label']}: {summary['position_evidence']}")
    for key in ("users", "codes", "sources", "selections", "codings", "cases", "variables", "notes", "sets",
                "links", "graphs", "files"):
        extra = ""
        if key == "sources" and summary["sources_by_kind"]:
            extra = "  (" + ", ".join(f"{n} {k}" for k, n in summary["sources_by_kind"].items()) + ")"
        if key == "codings" and summary["whole_source_codings"]:
            extra = f"  ({summary['whole_source_codings']} on whole sources)"
        click.echo(f"  {key:<14} {summary[key]}{extra}")
    if summary["coders"]:
        click.echo("  coders")
        for name, count in sorted(summary["coders"].items(), key=lambda item: -item[1]):
            click.echo(f"    {name:<24} {count} codings")
    for fix in summary["fixes"]:
        click.echo(f"  fixed: {fix}")
    for warning in summary["warnings"]:
        click.echo(f"  warning: {warning}")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--all", "every", is_flag=True, help="List every finding instead of grouping findings of one kind.")
def validate(file: Path, strict: bool, every: bool) -> None:
    """Check a file against the REFI-QDA schema and the rules no schema states.

    Dangling references, duplicate GUIDs, positions outside their text, missing archive members and the
    PlainTextContent/plainTextPath rule. Three or more findings of one kind are told once, with a count and
    the first few elements (--all lists each). Exit status 0 when clean, 1 when not.

    \b
    Example:
        refi-bridge validate coder-a.qdpx
        refi-bridge validate nvivo-export.qdpx --all
    """
    from refi_bridge.formats.validation import validate as run

    if not file.is_file():
        raise click.ClickException(f"{file}: does not exist; give the path of a .qdpx, .qde or .qdc file.")
    report = run(str(file), progress=_Terminal())
    for group in report.groups(smallest=len(report.findings) + 1 if every else 3):
        click.echo(str(group))
        if len(group.findings) > 1:
            more = len(group.findings) - 3
            click.echo("    e.g. " + "; ".join(group.examples()) + (f"; and {more} more (--all lists them)"
                                                                       if more > 0 else ""))
    errors, notes = len(report.errors), len(report.warnings)
    verdict = "valid" if report.ok else "NOT valid"
    click.echo(f"{file}: {verdict} ({errors} errors, {notes} warnings)")
    if not report.ok or (strict and notes):
        sys.exit(1)


@cli.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@dialect_option("The tool that will import the file")
def convert(source: Path, target: Path, dialect: str) -> None:
    """Convert between .qdpx, .qde and .qdc, and into the dialect of a tool.

    The kind of TARGET comes from its extension. The result is in the standard namespace, valid against the
    schema, with internal:// paths and text positions as the chosen tool counts them. (Texts a bare .qde
    does not hold stay missing; a warning says so.)

    \b
    Example:
        refi-bridge convert from-nvivo.qdpx for-qualcoder.qdpx --dialect qualcoder
        refi-bridge convert from-nvivo.qdpx for-atlas.qdpx --dialect atlasti
        refi-bridge convert project.qdpx codebook.qdc
    """
    from refi_bridge.formats.exchange import read, write

    terminal = _Terminal()
    project = read(source, progress=terminal)
    write(project, target, dialect=dialect, protect=[source], progress=terminal)
    click.echo(f"wrote {target} ({dialect} dialect)")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The table to write: .xlsx or .csv.")
def export(file: Path, output: Path) -> None:
    """Export the codings of a project as a table, one row per coding.

    Columns include the source, the code and its path, the coder, the span and the coded text.

    \b
    Example:
        refi-bridge export merged.qdpx -o codings.xlsx
    """
    from refi_bridge.tables.export import export_codings

    rows = export_codings(file, output, progress=_Terminal())
    click.echo(f"wrote {output} ({rows:,} codings)")


@cli.command()
@click.option("-o", "--output", default="refi-bridge-demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder to write the study and results to.")
@click.option("--seed", default=2022, show_default=True, help="Seed of the generated study.")
@click.option("--study-only", is_flag=True, help="Write the study's files and stop (how fixtures/ is made).")
def demo(output: Path, seed: int, study_only: bool) -> None:
    """Generate the bundled dyad study and run the whole pipeline on it.

    The study: 12 therapist-client dyads, 47 interviews, a five-theme codebook, and three coders who
    used NVivo, ATLAS.ti and a standard REFI-QDA tool. The folder ends up holding the master project,
    each coder's file, the ground truth, and the results of every step.

    \b
    Example:
        refi-bridge demo
        refi-bridge demo -o /tmp/study --seed 7
    """
    if study_only:
        from refi_bridge.demo.pipeline import write_study
        from refi_bridge.demo.study import generate

        files = write_study(generate(seed=seed), output, _Terminal())
        click.echo(f"wrote {len(files)} files to {output}")
        return
    from refi_bridge.demo.pipeline import run_demo

    result = run_demo(output, seed=seed, progress=_Terminal())
    click.echo(f"done: the study and its results are in {result.folder.resolve()}")


@cli.command()
@click.argument("master", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--coders", required=True, help="Names of the coders, separated by commas (or semicolons).")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the coders' files, the manifest and a reference copy of the master.")
@click.option("--sources", "pattern", help="Give every coder only the sources whose names match this glob.")
@click.option("--assign", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV with columns coder,source (name or GUID) for uneven assignments.")
@dialect_option("The tool the coders import into")
@click.option("--keep-codings", is_flag=True, help="Hand out the master's codings too (default: blind coding).")
@click.option("--overwrite", is_flag=True, help="Replace a handout already in the output folder.")
def split(master: Path, coders: str, output: Path, pattern: str | None, assign: Path | None, dialect: str,
          keep_codings: bool, overwrite: bool) -> None:
    """Hand a master project to N coders: one .qdpx each, plus a manifest for the merge.

    Each coder's file holds the codebook, their sources, the cases and variables, and the coder as a user;
    no codings unless --keep-codings. manifest.json records the master's GUIDs, a hash of every text and
    who got what, so that `refi-bridge merge --manifest` matches exactly what was handed out.

    \b
    Example:
        refi-bridge split master.qdpx --coders "Ingrid,Tomás,Amara" -o handout/
        refi-bridge split master.qdpx --coders "Ingrid,Tomás" --sources "D0*-client-*" -o handout/
    """
    from refi_bridge.team.jobs import split as run

    if pattern and assign:
        raise click.UsageError("give --sources or --assign, not both")
    names = _names(coders.replace(";", ","))  # people type either separator
    if names is not None and len(names) == 1:
        raise click.UsageError(f"--coders names one coder ({names[0]!r}); a team split needs two or more, "
                               "separated by commas: --coders \"Ada,Bo,Cy\"")
    result = run(master, names or [], output, sources=pattern, assign=assign, dialect=dialect,
                 keep_codings=keep_codings, overwrite=overwrite, progress=_Terminal())
    click.echo(f"handed out {len(result.files)} files in {output}; merge them back with "
               f"--manifest {result.manifest}")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The merged project (.qdpx).")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path),
              help="manifest.json from `refi-bridge split`: the master and who got which file.")
@click.option("--code-map", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV with the columns from,to: a code of the coders' files (path 'Theme > sub' or name) and the master code it is (path, or a name only one master code has).")
@click.option("--coder", "coder_pairs", multiple=True, metavar="FILE=NAME",
              help="Credit every coding of FILE to NAME (repeatable).")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), help="Write the merge report (.xlsx).")
@click.option("--json", "as_json", is_flag=True, help="Print the merge report as JSON instead of its verdict.")
@dialect_option("The tool that will open the merged file")
def merge(files: tuple[Path, ...], output: Path, manifest: Path | None, code_map: Path | None,
          coder_pairs: tuple[str, ...], report: Path | None, as_json: bool, dialect: str) -> None:
    """Merge what coders send back, from any tool, into one project that loses nothing.

    Sources are matched by GUID, else by a hash of their normalised text, else by name, and every coding is
    re-anchored onto the master text; codes by GUID, path of names or unique name. Each coding keeps its
    coder; exact duplicates appear once. The report says what matched, how, and what could not be placed.

    \b
    Example:
        refi-bridge merge returned/*.qdpx --manifest handout/manifest.json -o merged.qdpx --report merge-report.xlsx
        refi-bridge merge a.qdpx b-nvivo.qdpx --coder b-nvivo.qdpx=Bo -o merged.qdpx --json > report.json
    """
    from refi_bridge.team.jobs import coder_option, merge_files

    outcome = merge_files(files, output, manifest=manifest, code_map=code_map,
                          coders=coder_option(coder_pairs), report=report, dialect=dialect,
                          progress=_Terminal())
    summary = outcome.result.report
    for note in summary.notes:
        click.echo(f"note: {note}", err=True)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(f"wrote {output}" + (f" and {report}" if report else "") + f": {summary.verdict()}")


@cli.command()
@click.argument("project", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="The agreement workbook (.xlsx).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report as JSON ('-' for standard output).")
@click.option("--coders", help="Comma-separated coders to compare (default: all but 'consensus').")
@click.option("--codes", help="Comma-separated codes (names or paths 'Theme > sub'; default: all used).")
@click.option("--overlap", default=0.9, show_default=True, type=click.FloatRange(0.01, 1.0),
              help="Overlap (intersection over union) at which two segments, or two regions, match.")
@click.option("--bootstrap", default=1000, show_default=True, type=click.IntRange(0),
              help="Resamples of documents for the 95% interval (0 to skip).")
@click.option("--only-coded-documents", is_flag=True,
              help="Compare each coder only on documents in which they made a coding.")
@click.option("--cu-reading", type=click.Choice(["pairsum", "meansq"]), default="pairsum", show_default=True,
              help="How cu-alpha's correction term is read with three or more coders (see docs/agreement.md).")
def agreement(project: Path, output: Path | None, json_path: Path | None, coders: str | None, codes: str | None,
              overlap: float, bootstrap: int, only_coded_documents: bool, cu_reading: str) -> None:
    """Inter-coder agreement of a merged project, per code, document, case and coder pair.

    Headline per code: Krippendorff's |u-alpha on the characters of all documents (PDFs on their text) with
    a 95% bootstrap interval; beside it document presence (alpha, agreement, AC1), segment matching
    (MAXQDA-style) and NVivo's, MAXQDA's and QualCoder's numbers. Pictures and PDF areas that do not anchor
    to the PDF's text get presence per picture and region matching (intersection over union) on the Regions
    sheet. The Disagreements sheet lists every discordant passage with an empty resolution column for the
    consensus meeting.

    \b
    Example:
        refi-bridge agreement merged.qdpx -o agreement.xlsx
        refi-bridge agreement merged.qdpx --coders "Ingrid Halvorsen,Amara Okafor" --json - | jq .overall
    """
    from refi_bridge.tables.reports import agreement as run

    if output is None and json_path is None:
        raise click.UsageError("give -o OUT.xlsx, --json OUT.json, or both")
    to_stdout = json_path == Path("-")
    report = run(project, output, json_path=None if to_stdout else json_path,
                 coders=_names(coders), codes=_names(codes), overlap=overlap, bootstrap=bootstrap,
                 only_coded_documents=only_coded_documents, cu_reading=cu_reading, progress=_Terminal())
    if to_stdout:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    values = report.overall.set_index("measure")["value"]
    shown = {key: f"{v:.3f}" if isinstance(v, float) else v for key, v in values.items()}
    parts = []
    if len(report.per_code):
        parts.append(f"{len(report.per_code)} codes: |u-alpha over all codes {shown.get('|u-alpha, all codes pooled')}; "
                     f"{len(report.disagreements)} disagreements listed")
    if len(report.regions):
        threshold = f"{report.settings['overlap']:.0%}"
        parts.append(f"{len(report.regions)} codes on pictures or PDF areas: region match rate at {threshold} "
                     f"{shown.get(f'region match rate at {threshold}, all codes')}")
    written = " and ".join(str(p) for p in (output, json_path) if p is not None)
    click.echo(f"wrote {written}: {len(report.coders)} coders, " + "; ".join(parts))
    if report.left_out:
        click.echo(f"compared {', '.join(report.coders)}, the coders handed sources; left out "
                   f"{', '.join(report.left_out)} (codings the master already held): name every coder with "
                   "--coders to include them", err=True)


def _names(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


@cli.command()
@click.argument("project", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--resolutions", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The agreement workbook with its 'resolution' column filled in.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The project with the consensus layer (.qdpx).")
@dialect_option("The tool that will open the written project")
def consensus(project: Path, resolutions: Path, output: Path, dialect: str) -> None:
    """Turn the team's resolutions into a 'consensus' coder layer of the project.

    Passages every coder marked identically go in as they are; each listed disagreement goes in as its
    resolution says: a coder's name (their span), union, intersection, none, or spans like 120-245.
    Unresolved rows are reported and left out. Running it again replaces the previous layer.

    \b
    Example:
        refi-bridge consensus merged.qdpx --resolutions agreement.xlsx -o consensus.qdpx
        refi-bridge matrix consensus.qdpx --coders consensus -o matrix.xlsx
    """
    from refi_bridge.tables.reports import consensus as run

    result = run(project, resolutions, output, dialect=dialect, progress=_Terminal())
    click.echo(f"wrote {output}: {result.agreed} agreed passages, {result.resolved} resolved, {result.rejected} "
               f"rejected, {len(result.unresolved)} unresolved")
    if result.unresolved:
        click.echo(f"{len(result.unresolved)} disagreements have no resolution yet, e.g. {result.unresolved[0]}",
                   err=True)


@cli.command()
@click.argument("project", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The matrix workbook (.xlsx).")
@click.option("--rows", default="themes", show_default=True, help="themes, codes, level:N or sets.")
@click.option("--columns", default="cases", show_default=True,
              help="cases, sources, variable:NAME or pattern:REGEX (e.g. 'pattern:D(\\d+)-').")
@click.option("--split", help="Sub-columns by a source variable, e.g. variable:Perspective.")
@click.option("--group-by", help="Order and colour columns by a variable, e.g. variable:Outcome.")
@click.option("--cell", default="mark", show_default=True,
              type=click.Choice(["mark", "count", "codings", "sources", "coders"]),
              help="What a cell shows: a mark, passages (count; overlapping segments of one code by several coders "
                   "are one passage), every coder's codings, sources, or the coders' initials.")
@click.option("--min-coders", default=1, show_default=True, type=click.IntRange(1),
              help="Count a theme for a column only when at least K coders applied it there.")
@click.option("--coders", help="Comma-separated coders to use (e.g. consensus).")
@click.option("--title", help="Title of the matrix sheet.")
def matrix(project: Path, output: Path, rows: str, columns: str, split: str | None, group_by: str | None,
           cell: str, min_coders: int, coders: str | None, title: str | None) -> None:
    """Theme-by-case matrix (the representativeness table) as a formatted workbook.

    Themes (top-level codes with their subcodes rolled up) as rows, cases as columns (a case covers all
    its interviews), a mark where the case contributed to the theme; columns grouped and coloured by a
    variable; 'n of N' per row and a theme count per column; a sheet of the quotes behind every mark and a
    long table for pivot tables.

    \b
    Example:
        refi-bridge matrix merged.qdpx -o matrix.xlsx --group-by variable:Outcome --min-coders 2
        refi-bridge matrix merged.qdpx -o by-perspective.xlsx --split variable:Perspective --cell count
    """
    from refi_bridge.tables.reports import matrix as run

    built = run(project, output, rows=rows, columns=columns, split=split, group_by=group_by, cell=cell,
                min_coders=min_coders, coders=_names(coders), title=title, progress=_Terminal())
    click.echo(f"wrote {output}: {built.table.shape[0]} rows x {built.table.shape[1]} columns, "
               f"{len(built.contributions):,} codings behind them")


@cli.command()
@click.argument("project", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "key", type=click.Path(dir_okay=False, path_type=Path),
              help="The key: CSV or XLSX with columns original,replacement (and optional category,match).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="The pseudonymised project (.qdpx).")
@click.option("--codes", is_flag=True, help="Apply the key to code names too (default: codes are left as they are).")
@click.option("--coders", "coder_pairs", multiple=True, metavar="NAME=ALIAS,...",
              help="Rename coders (users) for blind review, e.g. \"Ingrid Halvorsen=Coder A\" (repeatable).")
@click.option("--keep-media", is_flag=True,
              help="Keep pictures, PDFs, audio and video, which cannot be rewritten (each is named in a warning).")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report (.xlsx or .json). It names the originals: keep it with the key.")
@click.option("--suggest", "suggestion", type=click.Path(dir_okay=False, path_type=Path),
              help="Instead: write a draft key (.csv or .xlsx) for you to review, and stop.")
@dialect_option("The tool that will open the result")
def pseudonymise(project: Path, key: Path | None, output: Path | None, codes: bool, coder_pairs: tuple[str, ...],
                 keep_media: bool, report: Path | None, suggestion: Path | None, dialect: str) -> None:
    """Replace names in a coded project by pseudonyms, keeping every coding on its passage.

    The key is applied to every text and to the names, descriptions and text values of sources, cases,
    notes, selections, sets and the project; each coding's positions move with its text. Code names and
    coder names change only with --codes and --coders. Original-format copies of the texts (.docx) are
    dropped; media are refused unless --keep-media. Start with --suggest to draft the key; keep the key
    and the report apart from the project you share.

    \b
    Example:
        refi-bridge pseudonymise merged.qdpx --suggest draft-key.xlsx
        refi-bridge pseudonymise merged.qdpx --key key.xlsx -o shared.qdpx --report pseudonymised.xlsx
        refi-bridge pseudonymise merged.qdpx --key key.csv -o blind.qdpx --coders "Ingrid Halvorsen=Coder A"
    """
    from refi_bridge.privacy.jobs import coders_option, pseudonymise_file, suggest_file

    if suggestion is not None:
        if key is not None or output is not None:
            raise click.UsageError("--suggest drafts a key and stops: give it without --key and -o")
        suggest_file(project, suggestion, progress=_Terminal())
        click.echo(f"review {suggestion}, then: refi-bridge pseudonymise {project} --key {suggestion} -o OUT.qdpx")
        return
    if key is None or output is None:
        raise click.UsageError("give --key KEY and -o OUT.qdpx (or --suggest FILE to draft a key)")
    outcome = pseudonymise_file(project, key, output, codes=codes, coders=coders_option(coder_pairs),
                                keep_media=keep_media, report=report, dialect=dialect,
                                progress=_Terminal())
    for line in outcome.result.report.summary():
        click.echo(line)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for files.parquet, codings.parquet/ and summary.xlsx (created if missing).")
@click.option("--workers", type=click.IntRange(1), help="Local worker processes.  [default: one per core]")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786) instead.")
@click.option("--again", "--no-resume", "again", is_flag=True,
              help="Survey every file again, also those surveyed into OUTDIR before and unchanged since.")
def survey(paths: tuple[Path, ...], outdir: Path, workers: int | None, scheduler: str | None, again: bool) -> None:
    """Survey an archive: every .qdpx, .qde and .qdc file under PATHS into Parquet tables.

    files.parquet has one row per file: kind, tool and version, position unit, counts, coders, the
    validation verdict with its first findings, the time taken, and for a file that could not be read
    (broken, hostile, not REFI-QDA) its one-line error. codings.parquet/ holds every coding of every file
    read (the columns of `export`, after a `file` column), written file by file; summary.xlsx counts files
    by tool, validity and codings by tool. Work runs on local processes, or with --scheduler on a running
    Dask cluster whose workers see the same paths. Running again into OUTDIR skips unchanged files.
    Needs the extra: pip install 'refi-bridge[distributed]'.

    \b
    Example:
        refi-bridge survey archive/ -o survey/
        refi-bridge survey /data/qdr/*.qdpx -o survey/ --scheduler tcp://10.0.0.5:8786
    """
    from refi_bridge.survey import survey as run

    result = run(list(paths), outdir, workers=workers, scheduler=scheduler, resume=not again,
                 progress=_Terminal())
    click.echo(f"{outdir}: {result.files} files ({result.unreadable} could not be read), {result.codings} codings; "
               f"{result.surveyed} surveyed now, {result.unchanged} unchanged since the last survey")
