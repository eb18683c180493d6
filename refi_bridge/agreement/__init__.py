"""Inter-coder agreement: the standard coefficients as pure functions, and the report of a merged project.

    from refi_bridge.agreement import (percent_agreement, cohen_kappa, scott_pi, fleiss_kappa,
                                       brennan_prediger, gwet_ac1, krippendorff_alpha, u_alpha, cu_alpha)
    report = refi_bridge.agreement.compute(project)      # DataFrames per code, document, case, pair...

Formulas, sources and what to report in a paper: docs/agreement.md.
"""

from refi_bridge.agreement.coefficients import (
    LEVELS,
    brennan_prediger,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
    scott_pi,
)
from refi_bridge.agreement.unitizing import Tally, alpha_u_1995, cu_alpha, k_u_alpha, u_alpha
from refi_bridge.errors import UndefinedCoefficientError

__all__ = ["percent_agreement", "cohen_kappa", "scott_pi", "fleiss_kappa", "brennan_prediger", "gwet_ac1",
           "krippendorff_alpha", "u_alpha", "cu_alpha", "k_u_alpha", "alpha_u_1995", "Tally", "LEVELS",
           "UndefinedCoefficientError", "compute"]


def compute(project, **options):
    """Agreement between the coders of a merged project; see :func:`refi_bridge.agreement.report.compute`."""
    from refi_bridge.agreement.report import compute as run

    return run(project, **options)
