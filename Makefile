setup:
	bash tools/setup_env.sh

test:
	bash tools/run_tests.sh

demo:
	bash tools/run_demo.sh

.PHONY: setup test demo
