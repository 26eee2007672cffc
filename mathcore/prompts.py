"""Prompt formats per model family, as the DeepSeekMath evaluation code builds them.

- `base`: a 4-shot Minerva-style prompt; generation stops at the next `Problem:`.
- `instruct` (the -instruct and -rl models, and the embedded model, which was trained on this
  format): `User: {q}\\nPlease reason step by step, and put your final answer within
  \\boxed{}.\\n\\nAssistant:`, BOS added by the tokenizer, no system prompt.
- tool-integrated (`tools=True`): the instruction asks for programs instead; generation stops
  at the ```` ```output ```` fence so that the program can run (`mathcore.tools`). The base
  model gets two worked few-shot solutions that use programs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["COT_INSTRUCTION", "OUTPUT_FENCE", "TOOL_INSTRUCTION", "Family", "Prompt", "chat_prompt", "family_of", "solve_prompt"]

Family = Literal["base", "instruct"]

COT_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
TOOL_INSTRUCTION = ("Please integrate natural language reasoning with programs to solve the problem above, "
                    "and put your final answer within \\boxed{}.")
OUTPUT_FENCE = "```output"

_TOOL_SHOTS = (
    (
        "What is the sum of all positive divisors of $360$?",
        "We list the divisors with a program and add them.\n```python\nfrom sympy import divisors\n\n"
        "print(sum(divisors(360)))\n```\n```output\n1170\n```\nThe sum of the divisors of $360$ is "
        "$\\boxed{1170}$.\nFinal Answer: The final answer is $1170$. I hope it is correct.",
    ),
    (
        "Solve for $x$: $\\frac{x}{3} + 7 = 12$.",
        "We solve the equation with sympy.\n```python\nfrom sympy import Eq, solve, symbols\n\n"
        "x = symbols('x')\nprint(solve(Eq(x / 3 + 7, 12), x))\n```\n```output\n[15]\n```\nSo $x = \\boxed{15}$.\n"
        "Final Answer: The final answer is $15$. I hope it is correct.",
    ),
)
EOS_TEXT = "<｜end▁of▁sentence｜>"

_SHOTS = (
    (
        "Find the domain of the expression  $\\frac{\\sqrt{x-2}}{\\sqrt{5-x}}$.}",
        "The expressions inside each square root must be non-negative. Therefore, $x-2 \\ge 0$, so "
        "$x\\ge2$, and $5 - x \\ge 0$, so $x \\le 5$. Also, the denominator cannot be equal to zero, "
        "so $5-x>0$, which gives $x<5$. Therefore, the domain of the expression is "
        "$\\boxed{[2,5)}$.\nFinal Answer: The final answer is $[2,5)$. I hope it is correct.",
    ),
    (
        "If $\\det \\mathbf{A} = 2$ and $\\det \\mathbf{B} = 12,$ then find $\\det (\\mathbf{A} \\mathbf{B}).$",
        "We have that $\\det (\\mathbf{A} \\mathbf{B}) = (\\det \\mathbf{A})(\\det \\mathbf{B}) = "
        "(2)(12) = \\boxed{24}.$\nFinal Answer: The final answer is $24$. I hope it is correct.",
    ),
    (
        "Terrell usually lifts two 20-pound weights 12 times. If he uses two 15-pound weights "
        "instead, how many times must Terrell lift them in order to lift the same total weight?",
        "If Terrell lifts two 20-pound weights 12 times, he lifts a total of $2\\cdot 12\\cdot20=480$ "
        "pounds of weight.  If he lifts two 15-pound weights instead for $n$ times, he will lift a "
        "total of $2\\cdot15\\cdot n=30n$ pounds of weight.  Equating this to 480 pounds, we can "
        "solve for $n$:\n\\begin{align*}\n30n&=480\\\\\n\\Rightarrow\\qquad n&=480/30=\\boxed{16}\n"
        "\\end{align*}\nFinal Answer: The final answer is $16$. I hope it is correct.",
    ),
    (
        "If the system of equations\n\n\\begin{align*}\n6x-4y&=a,\\\\\n6y-9x &=b.\n\\end{align*}has a "
        "solution $(x, y)$ where $x$ and $y$ are both nonzero, find $\\frac{a}{b},$ assuming $b$ is nonzero.",
        "If we multiply the first equation by $-\\frac{3}{2}$, we obtain\n\n$$6y-9x=-\\frac{3}{2}a.$$"
        "Since we also know that $6y-9x=b$, we have\n\n$$-\\frac{3}{2}a=b\\Rightarrow\\frac{a}{b}="
        "\\boxed{-\\frac{2}{3}}.$$\nFinal Answer: The final answer is $-\\frac{2}{3}$. I hope it is correct.",
    ),
)


@dataclass(frozen=True)
class Prompt:
    """Text to send as a completion prompt, and the strings at which generation must stop."""

    text: str
    stop: tuple[str, ...]


def family_of(model: str) -> Family:
    """The prompt family for a model name: -instruct, -rl and the embedded model chat; base does few-shot."""
    name = model.lower().rstrip("/")
    if "instruct" in name or name.endswith("-rl") or "-rl-" in name or "embedded" in name or "chat" in name:
        return "instruct"
    return "base"


def solve_prompt(problem: str, family: Family, tools: bool = False) -> Prompt:
    """The prompt that asks `family` for a full step-by-step solution of `problem` (with programs if `tools`)."""
    q = problem.strip()
    fence = (OUTPUT_FENCE,) if tools else ()
    if family == "base":
        shots = "\n\n".join(f"Problem:\n{p}\n\nSolution:\n{s}" for p, s in (_TOOL_SHOTS if tools else _SHOTS))
        return Prompt(f"{shots}\n\nProblem:\n{q}\n\nSolution:", ("\nProblem:", "\n\nProblem", *fence))
    return Prompt(f"User: {q}\n{TOOL_INSTRUCTION if tools else COT_INSTRUCTION}\n\nAssistant:", ("\nUser:", *fence))


def chat_prompt(messages: Sequence[dict[str, str]]) -> str:
    """Render chat messages in the DeepSeek format: `User: a\\n\\nAssistant: b<EOS>User: ...`.

    A system message is prepended to the first user turn (the models were trained without one).
    The result ends with `Assistant:` so the model writes the next reply.
    """
    out, system = "", ""
    for m in messages:
        role, content = m["role"], m["content"]
        if role == "system":
            system += content + "\n\n"
        elif role == "user":
            out += f"User: {system}{content}\n\n"
            system = ""
        elif role == "assistant":
            out += f"Assistant: {content}{EOS_TEXT}"
        else:
            raise ValueError(f"unknown message role {role!r}; use system, user or assistant")
    return out + "Assistant:"


def continuation_prompt(prefix: str, definitions: Sequence[str], environment: str | None, proof_step: bool = False) -> Prompt:
    """A raw-continuation prompt for the editor: definitions, then the text before the cursor.

    The DeepSeekMath models were not trained for fill-in-the-middle, so only the text before the
    cursor goes in; generation stops at the end of the step (a new line, `\\\\`, `\\end{`), and at
    the closing `$` of inline math.
    """
    head = "\n".join(definitions)
    text = f"{head}\n{prefix}" if head else prefix
    # token healing, the simple way: BPE writes " x" as one token, so a prompt ending in a bare
    # space asks the model for a split it never saw; end at the last word and let it add the space
    text = text.rstrip(" \t")
    stops = ["\n", "\\end{proof}"] if proof_step else ["\n", "\\\\", "\\end{"]
    if environment == "$":
        stops.append("$")
    return Prompt(text, tuple(stops))
