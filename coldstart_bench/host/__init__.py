"""Facts about the machine the harness runs on, read in one place (pyperf's ``_system`` and
``_cpu_utils`` are the model): the process table and a process's own files (``/proc``),
the CPUs, their quota and how busy they are, memory, cgroups, GPUs the driver lists, and
where caches live. It imports nothing of the harness, so every stage (and the engines'
preparation programs) can ask it.

psutil is used where it serves (CPU times, memory, clocks); the process table is our own
reading of ``/proc/PID/stat``: one read gives the parent, process group, session and start
time that teardown needs for every process, where psutil takes a system call per field
(and 2.5× as long for the table, measured on this project's machines).
"""
