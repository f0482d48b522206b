from alarmd.cli.entry import main

main()
