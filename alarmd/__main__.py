from alarmd.cli_quick import main

main()
