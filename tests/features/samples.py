"""Prompts the featurizer tests fit and transform."""

TRAIN = [
    "What is the capital of France?",
    "Solve for x: 3x + 5 = 20. Show your reasoning.",
    "def add(a, b):\n    return a + b\n# write a test for this function",
    "Which of these is a mammal?\nA) shark\nB) dolphin\nC) trout\nD) eel",
    "Translate 'good morning' into German.",
    "A train leaves at 3 pm at 60 km/h; when does it cover 150 km?",
    "Summarise the plot of Hamlet in two sentences.",
    "Write a Python function that reverses a linked list.",
] * 3
