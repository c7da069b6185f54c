from bench.interview.run import main

main()
