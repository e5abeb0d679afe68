"""The monthly district report (月报): a frozen snapshot, its PDF, approval, late corrections."""
