from alarmd.cli import main

main()
