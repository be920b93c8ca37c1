"""Loanline's composition root: the command line and the runtime that wires core, bot and console."""
