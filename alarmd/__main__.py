from alarmd.cli.quick import main

main()
