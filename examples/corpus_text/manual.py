"""Text of the example product manual: the AquaFlow AF-300 centrifugal pump.

Hand-written paragraphs for the narrative parts; the tables a real manual has (specifications, maintenance,
error codes, spare parts) are kept as data and written out as sentences, so that every fact is something
a question can be asked about.
"""

from __future__ import annotations

from corpus_text import Section

TITLE = "AquaFlow AF-300 Centrifugal Pump"
SUBTITLE = "Operator Manual - Revision C, March 2024"
HEADER = "AquaFlow AF-300 Operator Manual | Rev. C"
FOOTER = "AquaFlow Pumps GmbH, Bremen - Document AF300-OM-EN"

SPECIFICATIONS = [
    ("rated flow", "300 litres per minute at a total head of 32 metres"),
    ("maximum flow", "410 litres per minute at a head of 18 metres"),
    ("maximum head", "46 metres at zero flow"),
    ("motor", "a 4.0 kW, 400 V three-phase induction motor running at 2,900 rpm"),
    ("rated current", "7.9 amperes at 400 volts"),
    ("protection class", "IP55 for the motor and IP65 for the control box"),
    ("liquid temperature range", "from 2 degrees Celsius to 85 degrees Celsius"),
    ("maximum system pressure", "10 bar"),
    ("suction connection", "a DN 50 flange; the discharge connection is a DN 40 flange"),
    ("pump casing material", "cast iron EN-GJL-250 with an epoxy coating of 120 micrometres"),
    ("impeller material", "stainless steel 1.4408"),
    ("shaft seal", "a mechanical seal of silicon carbide against carbon, type AF-MS-22"),
    ("weight", "68 kilograms without the base frame and 91 kilograms with it"),
    ("sound pressure level", "at most 68 dB(A) at one metre distance"),
]

MAINTENANCE = [
    ("mechanical seal", "inspected for leaks", "every week", "AF-MS-22", "10 minutes", "the operator"),
    ("bearing grease", "renewed with 15 grams of lithium grease NLGI 2", "every 4,000 operating hours",
     "AF-GR-15", "30 minutes", "a service technician"),
    ("suction strainer", "removed and cleaned", "every 500 operating hours", "AF-ST-50", "20 minutes",
     "the operator"),
    ("coupling insert", "checked for cracks and replaced if the wear exceeds 2 millimetres",
     "every 2,000 operating hours", "AF-CI-38", "45 minutes", "a service technician"),
    ("motor insulation", "measured with a 500 V insulation tester; the reading must exceed 5 megaohms",
     "once a year", "none", "30 minutes", "a qualified electrician"),
    ("impeller", "inspected for erosion and its gap to the wear ring measured (limit 0.6 millimetres)",
     "every 8,000 operating hours", "AF-IM-300", "2 hours", "a service technician"),
    ("wear ring", "replaced", "every 16,000 operating hours or when the gap exceeds 0.6 millimetres",
     "AF-WR-300", "90 minutes", "a service technician"),
    ("pressure sensor", "calibrated against a reference gauge with an accuracy of 0.1 bar",
     "every 12 months", "AF-PS-10", "25 minutes", "a service technician"),
    ("control box fan filter", "replaced", "every 6 months", "AF-FF-12", "5 minutes", "the operator"),
    ("anchor bolts", "re-tightened to 85 newton-metres", "after the first 100 operating hours and then once a "
     "year", "none", "15 minutes", "the operator"),
]

ERROR_CODES = [
    ("E01", "Dry running", "the suction line is empty or the inlet valve is closed",
     "open the inlet valve, vent the casing through the vent screw and restart"),
    ("E02", "Motor overtemperature", "the winding thermistor measured more than 140 degrees Celsius",
     "let the motor cool for at least 30 minutes and check that the fan cover is not blocked"),
    ("E03", "Overcurrent", "the current exceeded 9.5 amperes for more than 5 seconds",
     "check the impeller for blockage and the supply voltage for a missing phase"),
    ("E04", "Phase failure", "one of the three supply phases is missing",
     "check the fuses F1 to F3 in the supply cabinet"),
    ("E05", "High discharge pressure", "the pressure sensor reads more than 9.0 bar",
     "open the discharge valve and check the system for closed valves"),
    ("E06", "Low discharge pressure", "the pressure stayed below 0.5 bar for 60 seconds while running",
     "check for leaks in the discharge line and for air in the pump"),
    ("E07", "Sensor fault", "the pressure sensor signal is outside 4 to 20 milliamperes",
     "check the sensor cable on terminal X4 and replace sensor AF-PS-10 if the fault remains"),
    ("E08", "Seal leakage", "the leak detector under the seal found liquid",
     "stop the pump and replace the mechanical seal AF-MS-22"),
    ("E09", "Vibration alarm", "the vibration sensor measured more than 7.1 millimetres per second",
     "check the anchor bolts, the coupling alignment and the bearings"),
    ("E10", "Communication lost", "the Modbus master has not polled the pump for 30 seconds",
     "check the RS-485 cable and the bus address set in menu 4.2"),
    ("E11", "Frequent starts", "the pump started more than 20 times within one hour",
     "increase the pressure hysteresis in menu 3.4 or check the pressure vessel's pre-charge"),
    ("E12", "Supply undervoltage", "the supply voltage dropped below 360 volts",
     "check the supply with the utility company; the pump restarts by itself after 2 minutes"),
]

SPARE_PARTS = [
    ("AF-MS-22", "mechanical seal set", "184.00", "3 working days"),
    ("AF-IM-300", "impeller, stainless steel", "612.50", "10 working days"),
    ("AF-WR-300", "wear ring pair", "96.40", "5 working days"),
    ("AF-CI-38", "coupling insert", "27.80", "2 working days"),
    ("AF-PS-10", "pressure sensor 0 to 10 bar, 4 to 20 mA", "143.00", "3 working days"),
    ("AF-ST-50", "suction strainer DN 50", "58.20", "2 working days"),
    ("AF-GR-15", "bearing grease cartridge, 15 grams", "12.30", "1 working day"),
    ("AF-FF-12", "control box fan filter mat, pack of 5", "19.90", "1 working day"),
    ("AF-CB-4", "control board, firmware 2.7", "455.00", "15 working days"),
]

DISPLAY_MENUS = [
    ("1.1", "operating hours", "read only, counts in steps of 0.1 hours"),
    ("2.1", "pressure set point", "1.0 to 9.0 bar, default 4.0 bar"),
    ("2.2", "maximum speed", "60 to 100 percent of the rated speed, default 100 percent"),
    ("3.4", "pressure hysteresis", "0.1 to 2.0 bar, default 0.5 bar"),
    ("3.6", "dry-running delay", "5 to 60 seconds, default 10 seconds"),
    ("4.1", "display language", "English, German, French, Dutch or Polish"),
    ("4.2", "Modbus address", "1 to 247, default 12"),
    ("4.3", "Modbus baud rate", "9,600, 19,200 or 38,400, default 19,200"),
    ("5.1", "error history", "the last 50 errors with date and operating hours"),
    ("9.9", "factory reset", "protected by the service code 3007"),
]

MODBUS_REGISTERS = [
    ("40001", "command: 1 start, 0 stop"),
    ("40002", "pressure set point in hundredths of a bar"),
    ("30001", "status word: bit 0 running, bit 1 error, bit 2 warning"),
    ("30002", "active error code number, 0 when there is no error"),
    ("30003", "motor current in hundredths of an ampere"),
    ("30004", "motor speed in revolutions per minute"),
    ("30005", "discharge pressure in hundredths of a bar"),
    ("30006", "liquid temperature in tenths of a degree Celsius"),
    ("30010", "operating hours, high word; register 30011 holds the low word"),
]


def sections() -> list[Section]:
    return [
        ("1 About this manual", [
            "This manual describes the installation, operation and maintenance of the AquaFlow AF-300 "
            "centrifugal pump with the integrated AF-C4 control box. It applies to pumps with serial numbers "
            "from 30-24000 onwards. Keep the manual next to the pump for the whole service life of the unit.",
            "The AF-300 moves clean water and water-glycol mixtures with up to 40 percent glycol in heating, "
            "cooling and pressure-boosting systems. It must not be used for drinking water, sea water, oils or "
            "liquids that contain solids larger than 3 millimetres.",
        ]),
        ("2 Safety", [
            "Read the following rules before any work on the pump. Violations can cause injuries and void "
            "the warranty.",
            ["Switch off the main isolator Q1 and lock it with a padlock before opening the control box.",
             "Wait at least 5 minutes after switching off: the capacitors of the control box hold a "
             "dangerous voltage for that long.",
             "Never run the pump dry, not even for a test: the mechanical seal is destroyed within 30 seconds.",
             "The pump casing can reach 85 degrees Celsius. Wear heat-resistant gloves.",
             "Lift the pump only by the two lifting eyes on the motor, never by the control box.",
             "Electrical work may only be done by a qualified electrician."],
        ]),
        ("3 Technical data", [
            *[f"The {name} of the AF-300 is {value}." for name, value in SPECIFICATIONS],
        ]),
        ("4 Installation", [
            "Install the pump in a dry, frost-free room with an ambient temperature between 5 and 40 degrees "
            "Celsius. Leave at least 300 millimetres of free space around the motor fan for cooling air.",
            ["Place the base frame on a level concrete foundation of at least 150 millimetres thickness.",
             "Fix the frame with four M12 anchor bolts and tighten them to 85 newton-metres.",
             "Connect the suction line with a diameter of at least DN 65 and keep it shorter than 10 metres.",
             "Install a shut-off valve and a non-return valve in the discharge line.",
             "Connect the supply cable (5 x 2.5 square millimetres) to terminals L1, L2, L3, N and PE.",
             "Check the direction of rotation: the shaft must turn clockwise seen from the motor fan.",
             "Fill the pump casing through the vent screw until water comes out without bubbles."],
        ]),
        ("5 Start-up and shutdown", [
            "For the first start, open the inlet valve fully and the discharge valve by one quarter. Press the "
            "START key for 2 seconds. The display shows RUN and the current pressure. Open the discharge "
            "valve slowly over 30 seconds until the required flow is reached.",
            "To stop the pump, press STOP for 2 seconds. For a shutdown of more than 4 weeks, close both "
            "valves, drain the casing through the drain plug at the bottom and switch off the main isolator. "
            "In rooms where frost can occur, the casing must always be drained after shutdown.",
            "The pump can also be started and stopped over Modbus RTU. The default bus address is 12 and the "
            "default baud rate is 19,200. Register 40001 holds the command (1 start, 0 stop) and register "
            "30005 holds the discharge pressure in hundredths of a bar.",
        ]),
        ("6 Control panel and settings", [
            "The control box has a two-line display, the keys START, STOP, UP, DOWN and OK, and three LEDs: "
            "green for running, yellow for a warning and red for an error. Press OK for 3 seconds to open "
            "the menu; the menu closes by itself after 60 seconds without a key press.",
            *[f"Menu {number} holds the {name}: {values}." for number, name, values in DISPLAY_MENUS],
            "Settings are stored in non-volatile memory and survive a power failure. Changing menus 2.x to "
            "4.x requires the operator code 1111; menu 9.9 requires the service code.",
        ]),
        ("7 Modbus interface", [
            "The RS-485 interface is on terminals X6 (A), X7 (B) and X8 (ground). Use a shielded twisted-pair "
            "cable of at most 1,200 metres and terminate both ends of the bus with 120 ohms. The protocol is "
            "Modbus RTU with 8 data bits, even parity and 1 stop bit.",
            *[f"Register {register} holds the {meaning}." for register, meaning in MODBUS_REGISTERS],
        ]),
        ("8 Maintenance", [
            "Regular maintenance keeps the pump efficient and avoids unplanned downtime. Record every "
            "maintenance task in the logbook form AF-LB-1 with date, operating hours and signature.",
            *[f"The {part} must be {task} {interval} by {who}. The task takes about {duration}"
              + (f" and needs spare part {number}." if number != "none" else " and needs no spare part.")
              for part, task, interval, number, duration, who in MAINTENANCE],
        ]),
        ("9 Error codes and troubleshooting", [
            "When the control box detects a fault, it stops the pump, lights the red LED and shows an error "
            "code. After the cause has been removed, reset the error by pressing STOP and START together for "
            "5 seconds. Errors E02 and E08 can only be reset after the pump has been inspected.",
            *[f"Error {code} ({name}) means that {cause}. To fix it, {remedy}."
              for code, name, cause, remedy in ERROR_CODES],
        ]),
        ("10 Spare parts", [
            "Order spare parts from the AquaFlow service portal or by phone at +49 421 555 0300. Prices are "
            "list prices in euros without VAT, valid from 1 March 2024.",
            *[f"Spare part {number}, the {name}, costs {price} euros and is delivered within {lead}."
              for number, name, price, lead in SPARE_PARTS],
        ]),
        ("11 Warranty and service", [
            "AquaFlow grants a warranty of 24 months from the date of delivery, extended to 36 months when the "
            "pump is registered on the service portal within 30 days of installation. The warranty does not "
            "cover wear parts (mechanical seal, coupling insert, filter mats) or damage from dry running.",
            "The service hotline is open Monday to Friday from 7:00 to 18:00 Central European Time at "
            "+49 421 555 0399. Emergency service outside these hours costs a flat fee of 180 euros per call-out "
            "plus 95 euros per hour of work.",
        ]),
    ]
