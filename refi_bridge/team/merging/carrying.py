"""Carrying what is not a coding: notes and memos, variables, cases, sets; links and graphs reported."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from refi_bridge.model import Project, Set, guid_key, name_key, selections_of
from refi_bridge.team.merging.inputs import MergeInput
from refi_bridge.team.merging.report import NotCarried


class Carrying:
    """Carrying what is not a coding: notes and memos, variables, cases, sets; links and graphs reported.

    A part of :class:`~refi_bridge.team.merging.merger.Merger`; the state it uses is set up there.
    """

    def _carry_notes(self, item: MergeInput) -> dict[str, str]:
        """Memos of the input the result lacks are carried; returns how their GUIDs changed."""
        target: dict[str, str] = {}
        existing = {(name_key(n.name), n.text) for n in self.notes}
        for note in item.project.notes:
            key = guid_key(note.guid)
            known = self.note_by_guid.get(key)
            if known is not None and (known.text == note.text and known.name == note.name):
                continue
            if (name_key(note.name), note.text) in existing:
                same = next(n for n in self.notes if (name_key(n.name), n.text) == (name_key(note.name), note.text))
                target[key] = same.guid
                continue
            carried = replace(note, guid=self._fresh(note.guid), creating_user=None, modifying_user=None)
            carried = self._carry_files(carried, item)
            target[key] = carried.guid
            self.notes.append(carried)
            self.note_by_guid[guid_key(carried.guid)] = carried
        return target

    def _carry_rest(self, item: MergeInput, source_target: Mapping[str, int]) -> None:
        project = item.project
        variable_names = {name_key(v.name): v for v in self.variables}
        variable_target: dict[str, str] = {}
        for variable in project.variables:
            known = variable_names.get(name_key(variable.name))
            if known is None:
                known = replace(variable, guid=self._fresh(variable.guid))
                self.variables.append(known)
                variable_names[name_key(variable.name)] = known
            variable_target[guid_key(variable.guid)] = known.guid
        case_names = {name_key(c.name): c for c in self.cases}
        for case in project.cases:
            if name_key(case.name) in case_names:
                continue
            refs = tuple(self.sources[source_target[guid_key(r)]].guid for r in case.source_refs
                         if guid_key(r) in source_target)
            values = tuple(replace(v, variable_guid=variable_target.get(guid_key(v.variable_guid), v.variable_guid))
                           for v in case.variable_values)
            self.cases.append(replace(case, guid=self._fresh(case.guid), source_refs=refs, variable_values=values,
                                      selection_refs=(), code_refs=()))
            case_names[name_key(case.name)] = self.cases[-1]
            if case.selection_refs or case.code_refs:
                self.report.not_carried.append(NotCarried(item.label, "Case", case.name or case.guid,
                                                          "its links to selections and codes were not carried"))
        set_names = {name_key(s.name) for s in self.sets}
        for group in project.sets:
            if name_key(group.name) in set_names:
                continue
            members = tuple(self.sources[source_target[guid_key(r)]].guid for r in group.member_sources
                            if guid_key(r) in source_target)
            self.sets.append(Set(guid=self._fresh(group.guid), name=group.name, description=group.description,
                                 member_sources=members))
            if group.member_codes or group.member_notes:
                self.report.not_carried.append(NotCarried(item.label, "Set", group.name,
                                                          "its codes and notes as members were not carried"))
        base_links = {guid_key(link.guid) for link in self.base.links}
        for link in project.links:
            if guid_key(link.guid) not in base_links:
                self.report.not_carried.append(NotCarried(item.label, "Link", link.name or link.guid,
                                                          "links between objects of a coder's file are not merged"))
        base_graphs = {guid_key(g.guid) for g in self.base.graphs}
        for graph in project.graphs:
            if guid_key(graph.guid) not in base_graphs:
                self.report.not_carried.append(NotCarried(item.label, "Graph", graph.name or graph.guid,
                                                          "network views of a coder's file are not merged"))


def all_guids(project: Project):
    yield from (u.guid for u in project.users)
    yield from (c.guid for c, _ in project.iter_codes())
    yield from (v.guid for v in project.variables)
    yield from (c.guid for c in project.cases)
    yield from (n.guid for n in project.notes)
    yield from (s.guid for s in project.sets)
    for source in project.sources:
        yield source.guid
        yield from (c.guid for c in source.codings)
        for _, selection, _ in selections_of(source):
            yield selection.guid
            yield from (c.guid for c in selection.codings)
