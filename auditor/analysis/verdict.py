"""The verdict: exactly the table of LABELING.md.

| call_type                      | stages       | duration      | verdict            |
| post_sale                      | any          | any           | exempt             |
| no_contact                     | any          | any           | no_contact         |
| new_client / existing_client   | all four     | any           | ok                 |
| new_client / existing_client   | some missing | < short_call  | missed_opportunity |
| new_client / existing_client   | some missing | >= short_call | incomplete         |

The duration is the recording's length (rings and holds included), and the
threshold is Settings.short_call_s.
"""

from __future__ import annotations

from auditor.records import SALES_TYPES, STAGES, fmt_duration


def decide_verdict(call_type: str, found: list[str], duration_s: float,
                   short_call_s: float) -> tuple[str, str]:
    """(verdict, one-line reason) for a call."""
    if call_type == "post_sale":
        return "exempt", "post-sale organizational call: exempt from the stage rules"
    if call_type == "no_contact":
        return "no_contact", "no conversation with the decision maker"
    if call_type not in SALES_TYPES:
        raise ValueError(f"unknown call type {call_type!r}")
    missing = [s for s in STAGES if s not in found]
    length = fmt_duration(duration_s)
    limit = fmt_duration(short_call_s)
    if not missing:
        return "ok", f"sales call of {length} with all four stages"
    if duration_s < short_call_s:
        return ("missed_opportunity",
                f"sales call of {length} under {limit} missing {', '.join(missing)}")
    return "incomplete", f"sales call of {length} (at least {limit}) missing {', '.join(missing)}"
