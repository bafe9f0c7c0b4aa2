"""The dashboard's own colours (prompt_toolkit style strings): borders, status bar, overlays."""

BORDER = "fg:ansibrightblack"
BORDER_FOCUS = "fg:ansigreen bold"
BORDER_SYNC = "fg:ansired bold"
STATUS = "bg:ansigreen fg:ansiblack"
STATUS_FOCUS = "bg:ansigreen fg:ansiblack bold reverse"
STATUS_ALERT = "bg:ansired fg:ansiwhite bold"
EXITED_STYLE = "fg:ansired bold"
DENIED_BORDER = "fg:ansired"  # a pane's count of refused connections (net✗N)
MESSAGE = "bg:ansiyellow fg:ansiblack"
OVERLAY = "bg:ansiblack fg:ansiwhite"
OVERLAY_SELECTED = "bg:ansiwhite fg:ansiblack"

# The agent's activity (session/activity.py) as a word: waiting stands out most, as the state
# that needs the person; idle (its turn is over) is quieter; working is the bar's own green.
ACTIVITY_BORDER = {
    "waiting": "bg:ansiyellow fg:ansiblack bold",
    "working": "fg:ansigreen",
    "idle": "fg:ansiblue",
    "starting": "fg:ansibrightblack",
}
ACTIVITY_STATUS = {
    "waiting": "bg:ansiyellow fg:ansiblack bold",
    "working": "bg:ansigreen fg:ansiblack",
    "idle": "bg:ansigreen fg:ansiblue",
    "starting": "bg:ansigreen fg:ansiblack",
}
