# Thin aliases; dev.py does the set-up so that these also work on a fresh machine.
.PHONY: main test bench bench-scale
main:
	python3 dev.py main
test:
	python3 dev.py test
bench:
	python3 dev.py bench
bench-scale:
	python3 dev.py bench-scale $(ARGS)
