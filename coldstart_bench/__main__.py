from coldstart_bench.cli import main

main()
