"""`python -m loanline`: the same as the `loanline` command."""

from loanline.cli import main

main()
