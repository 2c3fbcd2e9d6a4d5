from coldstart_bench.entry import main

main()
