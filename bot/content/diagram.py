"""Render the check-in tree for reviewers: a Mermaid flowchart or an indented outline."""

from __future__ import annotations

from bot.content.models import CheckinTree


def _label(text: str) -> str:
    """Mermaid labels are quoted; tags and quotes would break them."""
    for tag in ("<b>", "</b>", "<i>", "</i>"):
        text = text.replace(tag, "")
    return text.replace('"', "'")


def mermaid(tree: CheckinTree) -> str:
    nodes = {node.id: node for node in tree.nodes}
    advice = {item.id: item for item in tree.advice}
    lines = ["flowchart TD"]
    for node in tree.nodes:
        lines.append(f'    {node.id}{{"{_label(node.question)}"}}')
    for item in tree.advice:
        lines.append(f'    {item.id}["{_label(item.title)}<br/>({item.effect})"]')
    for node in tree.nodes:
        for option in node.options:
            target = option.next or option.advice
            arrow = "-->" if option.button else "-.->"  # dotted: reached by typing only
            lines.append(f'    {node.id} {arrow}|"{_label(option.label)}"| {target}')
    lines.append(f'    redflagwords(["a red flag read in any message"]) --> {tree.red_flag.advice}')
    lines.append(f'    painwords(["pain mentioned but unclear"]) --> {tree.pain_check}')
    entry = ", ".join(e for e in tree.entry_points if e in nodes)
    lines.append(f"    classDef entry stroke-width:3px;\n    class {entry} entry;")
    flagged = [a.id for a in advice.values() if a.effect == "red_flag"]
    if flagged:
        lines.append(f"    classDef redflag fill:#fdd,stroke:#c00;\n    class {', '.join(flagged)} redflag;")
    return "\n".join(lines) + "\n"


def outline(tree: CheckinTree) -> str:
    nodes = {node.id: node for node in tree.nodes}
    advice = {item.id: item for item in tree.advice}
    lines: list[str] = []

    def walk(node_id: str, depth: int) -> None:
        node = nodes[node_id]
        lines.append(f"{'  ' * depth}? {_label(node.question)}")
        for option in node.options:
            label = _label(option.label) + ("" if option.button else " (typed)")
            if option.next:
                lines.append(f"{'  ' * (depth + 1)}- {label}")
                walk(option.next, depth + 2)
            else:
                item = advice[option.advice]
                lines.append(f"{'  ' * (depth + 1)}- {label} => {_label(item.title)} [{item.effect}]")

    for entry in tree.entry_points:
        walk(entry, 0)
        lines.append("")
    lines.append(f"A red flag read anywhere => {_label(advice[tree.red_flag.advice].title)}")
    return "\n".join(lines) + "\n"
