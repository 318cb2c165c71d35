import sys
print("python says", " ".join(sys.argv[1:]))
