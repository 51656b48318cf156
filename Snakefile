# curiosft: SFT / PSFT / CurioSFT sweeps -> GRPO -> evaluation -> paper tables and figures.
#   make demo                                   the tiny default, end to end on a laptop
#   snakemake --profile profiles/default all    the same, by hand
#   snakemake -n --config experiment=paper      what the paper sweep would run
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


# Found next to this Snakefile, so `snakemake -d <elsewhere>` works; --configfile adds to / overrides it.
configfile: Path(workflow.basedir) / "config" / "config.yaml"


# `snakemake --report report.html`: the tables and figures with their captions (workflow/report/)
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/world.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/rl.smk"
include: "workflow/rules/eval.smk"


onstart:
    check_before_jobs()


# light rules: never submitted to a cluster
localrules:
    all,
    tables,
    figures,
    select,


rule all:
    default_target: True
    input:
        all_targets,
