# Thin aliases; dev.py does the set-up so that these also work on a fresh machine.
.PHONY: main test bench
main:
	python3 dev.py main
test:
	python3 dev.py test
bench:
	python3 dev.py bench
