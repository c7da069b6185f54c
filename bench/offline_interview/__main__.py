from bench.offline_interview.run import main

main()
