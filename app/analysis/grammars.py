"""Per-language tree-sitter node kinds: what is a function, a branch, a nesting level, a comment.

One table per grammar keeps every language's choices visible side by side.
Cyclomatic complexity is 1 + the decision points inside a function (nested
functions count for themselves). `logical` and `cases` are raw query
patterns for the decisions a bare node kind cannot express (`&&` but not
`+`; `case` but not `default`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from tree_sitter import Language


@dataclass(frozen=True)
class GrammarSpec:
    """The node kinds one grammar uses for the things we measure."""

    module: str
    loader: str
    functions: tuple[str, ...]
    containers: tuple[str, ...]
    decisions: tuple[str, ...]
    nesting: tuple[str, ...]
    comments: tuple[str, ...]
    patterns: tuple[str, ...] = ()  # extra decision patterns, captured as @decision
    docstrings: tuple[str, ...] = ()  # patterns capturing @comment for docstrings


def _logical(kind: str, *operators: str, field: str = "operator") -> tuple[str, ...]:
    """Query patterns matching a binary node only for the given operators."""
    return tuple(f'({kind} {field}: "{op}") @decision' for op in operators)


_C_LOOPS = ("for_statement", "while_statement", "do_statement")
_C_LOGIC = _logical("binary_expression", "&&", "||")

GRAMMARS: dict[str, GrammarSpec] = {
    "python": GrammarSpec(
        "tree_sitter_python", "language",
        functions=("function_definition",),
        containers=("class_definition",),
        decisions=("if_statement", "elif_clause", "for_statement", "while_statement",
                   "except_clause", "conditional_expression", "boolean_operator",
                   "for_in_clause", "if_clause", "case_clause"),
        nesting=("if_statement", "for_statement", "while_statement", "try_statement",
                 "with_statement", "match_statement"),
        comments=("comment",),
        docstrings=(
            "(module . (expression_statement (string) @comment))",
            "(function_definition body: (block . (expression_statement (string) @comment)))",
            "(class_definition body: (block . (expression_statement (string) @comment)))",
        ),
    ),
    "javascript": GrammarSpec(
        "tree_sitter_javascript", "language",
        functions=("function_declaration", "function_expression", "arrow_function",
                   "method_definition", "generator_function_declaration",
                   "generator_function"),
        containers=("class_declaration", "class"),
        decisions=("if_statement", "for_statement", "for_in_statement", "while_statement",
                   "do_statement", "switch_case", "catch_clause", "ternary_expression"),
        nesting=("if_statement", "for_statement", "for_in_statement", "while_statement",
                 "do_statement", "switch_statement", "try_statement"),
        comments=("comment",),
        patterns=_logical("binary_expression", "&&", "||", "??"),
    ),
    "go": GrammarSpec(
        "tree_sitter_go", "language",
        functions=("function_declaration", "method_declaration", "func_literal"),
        containers=(),
        decisions=("if_statement", "for_statement", "expression_case", "type_case",
                   "communication_case"),
        nesting=("if_statement", "for_statement", "expression_switch_statement",
                 "type_switch_statement", "select_statement"),
        comments=("comment",),
        patterns=_C_LOGIC,
    ),
    "rust": GrammarSpec(
        "tree_sitter_rust", "language",
        functions=("function_item", "closure_expression"),
        containers=("impl_item", "trait_item", "mod_item"),
        decisions=("if_expression", "while_expression", "for_expression", "match_arm"),
        nesting=("if_expression", "while_expression", "for_expression", "loop_expression",
                 "match_expression"),
        comments=("line_comment", "block_comment"),
        patterns=_C_LOGIC,
    ),
    "java": GrammarSpec(
        "tree_sitter_java", "language",
        functions=("method_declaration", "constructor_declaration", "lambda_expression",
                   "compact_constructor_declaration"),
        containers=("class_declaration", "interface_declaration", "enum_declaration",
                    "record_declaration"),
        decisions=("if_statement", "for_statement", "enhanced_for_statement",
                   "while_statement", "do_statement", "catch_clause", "ternary_expression"),
        nesting=("if_statement", "for_statement", "enhanced_for_statement", "while_statement",
                 "do_statement", "switch_expression", "try_statement",
                 "try_with_resources_statement"),
        comments=("line_comment", "block_comment"),
        patterns=(*_C_LOGIC, '(switch_label "case") @decision'),
    ),
    "c_sharp": GrammarSpec(
        "tree_sitter_c_sharp", "language",
        functions=("method_declaration", "constructor_declaration", "local_function_statement",
                   "lambda_expression", "anonymous_method_expression",
                   "operator_declaration", "destructor_declaration"),
        containers=("class_declaration", "struct_declaration", "interface_declaration",
                    "record_declaration"),
        decisions=("if_statement", "for_statement", "foreach_statement", "while_statement",
                   "do_statement", "catch_clause", "conditional_expression",
                   "switch_expression_arm"),
        nesting=("if_statement", "for_statement", "foreach_statement", "while_statement",
                 "do_statement", "switch_statement", "try_statement"),
        comments=("comment",),
        patterns=(*_logical("binary_expression", "&&", "||", "??"),
                  '(switch_section "case") @decision'),
    ),
    "c": GrammarSpec(
        "tree_sitter_c", "language",
        functions=("function_definition",),
        containers=(),
        decisions=("if_statement", *_C_LOOPS, "conditional_expression"),
        nesting=("if_statement", *_C_LOOPS, "switch_statement"),
        comments=("comment",),
        patterns=(*_C_LOGIC, "(case_statement value: (_)) @decision"),
    ),
    "cpp": GrammarSpec(
        "tree_sitter_cpp", "language",
        functions=("function_definition", "lambda_expression"),
        containers=("class_specifier", "struct_specifier", "namespace_definition"),
        decisions=("if_statement", *_C_LOOPS, "for_range_loop", "conditional_expression",
                   "catch_clause"),
        nesting=("if_statement", *_C_LOOPS, "for_range_loop", "switch_statement",
                 "try_statement"),
        comments=("comment",),
        patterns=(*_C_LOGIC, "(case_statement value: (_)) @decision"),
    ),
    "ruby": GrammarSpec(
        "tree_sitter_ruby", "language",
        functions=("method", "singleton_method"),
        containers=("class", "module", "singleton_class"),
        decisions=("if", "elsif", "unless", "while", "until", "for", "when", "rescue",
                   "conditional", "if_modifier", "unless_modifier", "while_modifier",
                   "until_modifier", "rescue_modifier"),
        nesting=("if", "unless", "while", "until", "for", "case", "begin"),
        comments=("comment",),
        patterns=_logical("binary", "&&", "||", "and", "or"),
    ),
    "php": GrammarSpec(
        "tree_sitter_php", "language_php",
        functions=("function_definition", "method_declaration", "anonymous_function",
                   "arrow_function"),
        containers=("class_declaration", "trait_declaration", "interface_declaration",
                    "enum_declaration"),
        decisions=("if_statement", "else_if_clause", "for_statement", "foreach_statement",
                   "while_statement", "do_statement", "case_statement", "catch_clause",
                   "conditional_expression", "match_conditional_expression"),
        nesting=("if_statement", "for_statement", "foreach_statement", "while_statement",
                 "do_statement", "switch_statement", "try_statement", "match_expression"),
        comments=("comment",),
        patterns=_logical("binary_expression", "&&", "||", "and", "or", "??"),
    ),
    "kotlin": GrammarSpec(
        "tree_sitter_kotlin", "language",
        functions=("function_declaration", "anonymous_function", "lambda_literal",
                   "secondary_constructor"),
        containers=("class_declaration", "object_declaration", "companion_object"),
        decisions=("if_expression", "for_statement", "while_statement", "do_while_statement",
                   "catch_block"),
        nesting=("if_expression", "for_statement", "while_statement", "do_while_statement",
                 "when_expression", "try_expression"),
        comments=("line_comment", "block_comment"),
        patterns=(*_C_LOGIC, "(when_entry condition: (_)) @decision"),
    ),
    "swift": GrammarSpec(
        "tree_sitter_swift", "language",
        functions=("function_declaration", "init_declaration", "deinit_declaration",
                   "lambda_literal"),
        containers=("class_declaration", "protocol_declaration"),
        decisions=("if_statement", "guard_statement", "for_statement", "while_statement",
                   "repeat_while_statement", "catch_block", "ternary_expression",
                   "conjunction_expression", "disjunction_expression"),
        nesting=("if_statement", "guard_statement", "for_statement", "while_statement",
                 "repeat_while_statement", "switch_statement", "do_statement"),
        comments=("comment", "multiline_comment"),
        patterns=("(switch_entry (switch_pattern)) @decision",),
    ),
}  # fmt: skip

GRAMMARS["typescript"] = GrammarSpec(
    "tree_sitter_typescript", "language_typescript",
    functions=GRAMMARS["javascript"].functions,
    containers=(*GRAMMARS["javascript"].containers, "abstract_class_declaration",
                "interface_declaration", "internal_module"),
    decisions=GRAMMARS["javascript"].decisions,
    nesting=GRAMMARS["javascript"].nesting,
    comments=("comment",),
    patterns=GRAMMARS["javascript"].patterns,
)  # fmt: skip
GRAMMARS["tsx"] = GrammarSpec(**{**GRAMMARS["typescript"].__dict__, "loader": "language_tsx"})


@cache
def load_language(key: str) -> Language | None:
    """Load a grammar wheel once; a missing or broken wheel means line checks only."""
    spec = GRAMMARS.get(key)
    if spec is None:
        return None
    try:
        loader: Callable[[], object] = getattr(importlib.import_module(spec.module), spec.loader)
        return Language(loader())
    except (ImportError, AttributeError, ValueError):
        return None
