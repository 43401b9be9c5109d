"""Text of the example policy handbook: Northwind Logistics' employee handbook."""

from __future__ import annotations

from corpus_text import Section

TITLE = "Northwind Logistics"
SUBTITLE = "Employee Policy Handbook - Edition 2024"
HEADER = "Northwind Logistics | Employee Policy Handbook 2024"
FOOTER = "Internal use only - HR-POL-001 v7"

ANNUAL_LEAVE = [("less than 2 years", 26), ("2 to 5 years", 27), ("5 to 10 years", 28), ("more than 10 years", 30)]

PER_DIEM = [
    ("Hamburg", 28, 120), ("Berlin", 28, 135), ("Munich", 28, 150), ("Rotterdam", 32, 140),
    ("Antwerp", 30, 125), ("Paris", 38, 170), ("London", 42, 190), ("Warsaw", 24, 95),
    ("Milan", 34, 145), ("Copenhagen", 40, 165),
]

TRAINING_BUDGET = [("warehouse staff", 800), ("drivers", 900), ("office staff", 1200), ("team leads", 1500),
                   ("managers", 2500)]


def sections() -> list[Section]:
    return [
        ("1 Purpose and scope", [
            "This handbook sets out the policies that apply to all employees of Northwind Logistics GmbH at the "
            "Hamburg headquarters and the depots in Bremen, Hanover and Kiel. It does not replace the "
            "employment contract or the works agreement; where they differ, the contract and the works "
            "agreement prevail. The handbook is reviewed every year in January by the HR department.",
            "Questions about this handbook go to the HR service desk at hr@northwind.example or extension 2200.",
        ]),
        ("2 Working hours", [
            "The standard working week is 38.5 hours for full-time employees. Office staff work flexitime "
            "with core hours from 9:30 to 15:00 on Monday to Thursday and from 9:30 to 13:00 on Friday. Depot "
            "staff work in three shifts: early shift 6:00 to 14:30, late shift 14:00 to 22:30 and night shift "
            "22:00 to 6:30.",
            "Working time is recorded with the badge terminal at the entrance or in the TimeNet app. A break "
            "of 30 minutes is mandatory after 6 hours of work and 45 minutes after 9 hours. Working more "
            "than 10 hours a day is not allowed.",
        ]),
        ("3 Overtime", [
            "Overtime must be approved in advance by the team lead in TimeNet. Each approved overtime hour is "
            "credited to the flexitime account at 125 percent; hours on Sundays and public holidays at 200 "
            "percent. The flexitime account may hold at most 80 hours; hours above that are paid out with "
            "the next salary. Night shift work between 23:00 and 6:00 earns an allowance of 25 percent.",
        ]),
        ("4 Annual leave", [
            *[f"Employees with {service} of service receive {days} days of paid annual leave per calendar year."
              for service, days in ANNUAL_LEAVE],
            "Leave is requested in TimeNet at least 4 weeks in advance for periods of more than 5 days. At least "
            "10 consecutive days must be taken once a year. Unused leave can be carried over until 31 March of "
            "the following year; after that date it expires unless illness prevented taking it.",
        ]),
        ("5 Sickness", [
            "If you are ill, inform your team lead before the start of your shift by phone, not by e-mail. A "
            "medical certificate is required from the third day of illness. Salary continues for up to 6 "
            "weeks per illness; after that, the statutory health insurance pays sickness benefit. Employees "
            "returning after more than 6 weeks of illness are offered a return-to-work meeting with HR.",
        ]),
        ("6 Parental leave", [
            "Parents may take up to 3 years of parental leave per child. Northwind tops up the statutory "
            "parental allowance to 80 percent of net salary for the first 8 weeks. Requests must reach HR at "
            "least 7 weeks before the planned start. Part-time work of up to 32 hours per week during "
            "parental leave is possible with the team lead's agreement.",
        ]),
        ("7 Remote work", [
            "Office staff may work remotely on up to 3 days per week after the probation period of 6 months. "
            "Remote days are agreed with the team lead in the weekly planning. Northwind pays a remote work "
            "allowance of 30 euros per month and provides a laptop, a headset and a second monitor. Remote "
            "work from abroad is allowed for at most 20 working days per year and only within the European "
            "Union, after approval by HR.",
        ]),
        ("8 Business travel and expenses", [
            "Business trips are booked through the travel portal TravelDesk. Train travel is preferred for "
            "distances under 600 kilometres; first class is allowed for trips longer than 4 hours. Flights "
            "need approval by a department head. Use of a private car is reimbursed at 0.30 euros per "
            "kilometre.",
            *[f"For trips to {city}, the daily allowance for meals is {meal} euros and hotel costs are "
              f"reimbursed up to {hotel} euros per night." for city, meal, hotel in PER_DIEM],
            "Expense reports are submitted in TravelDesk within 30 days after the trip, with all receipts "
            "scanned. Reports submitted later than 90 days after the trip are not reimbursed.",
        ]),
        ("9 Company vehicles", [
            "Depot managers and sales staff with more than 20,000 kilometres of business driving per year "
            "receive a company car. Private use is taxed at 1 percent of the list price per month. Fuel cards "
            "may only be used for the assigned vehicle. Accidents must be reported to the fleet office at "
            "extension 2450 within 24 hours, together with the police report if the police attended.",
        ]),
        ("10 Equipment and work clothing", [
            "Depot staff receive two sets of work clothing per year, three high-visibility vests and a winter "
            "jacket every three years. Clothing is washed by the laundry service every Wednesday; bags are "
            "collected at the depot gate until 8:00. Lost badges are replaced for a fee of 15 euros.",
            "Office staff choose their equipment from the IT catalogue. Laptops are replaced every 4 years, "
            "phones every 3 years. Equipment must be returned on the last working day.",
        ]),
        ("11 Public holidays and company closing days", [
            "Northwind follows the public holidays of the federal state where the employee works. The offices "
            "are closed between 24 December and 1 January; employees take 3 days of annual leave for this "
            "period, and the remaining days are granted by the company. Depots run a reduced shift plan on "
            "these days, and work on 24 and 31 December is paid with an allowance of 50 percent.",
        ]),
        ("12 IT security", [
            "Passwords must have at least 14 characters and are changed only when a compromise is suspected. "
            "Multi-factor authentication with the Northwind Authenticator app is mandatory for e-mail, VPN and "
            "TimeNet. Lock your screen whenever you leave your desk (Windows key + L).",
            "Report suspicious e-mails with the Report Phishing button or to security@northwind.example. "
            "Private USB sticks must not be connected to company computers. Lost or stolen devices must be "
            "reported to the IT service desk at extension 2300 within 2 hours; the device is then wiped "
            "remotely.",
        ]),
        ("13 Training and development", [
            *[f"Each year, {group} have a personal training budget of {budget} euros."
              for group, budget in TRAINING_BUDGET],
            "Training requests are approved by the team lead in the LearnHub portal. Employees who leave "
            "Northwind within 12 months after a course costing more than 2,000 euros repay the cost pro rata. "
            "Forklift licences and hazardous goods certificates are paid by Northwind in full and do not "
            "count against the budget.",
        ]),
        ("14 Performance reviews", [
            "Performance reviews take place twice a year, in March and in September. The March review sets "
            "goals for the year; the September review checks progress. Salary adjustments are decided in April "
            "and paid from 1 May. Employees may bring a member of the works council to the review.",
        ]),
        ("15 Health and safety", [
            "Safety shoes of class S3 and high-visibility vests are mandatory in all depot areas. Northwind "
            "reimburses up to 120 euros per year for safety shoes. Every accident, even without injury, is "
            "reported in the SafetyNet app within the same shift. First aiders are marked on the depot plans; "
            "each shift has at least two. The annual safety briefing is mandatory and takes 90 minutes.",
        ]),
        ("16 Code of conduct and whistleblowing", [
            "Gifts from customers or suppliers worth more than 40 euros must be declared to the compliance "
            "officer and may not be kept. Invitations to events require approval by a department head.",
            "Violations of law or of this handbook can be reported anonymously through the whistleblower "
            "portal SpeakUp, which is run by an external provider. Reports are acknowledged within 7 days and "
            "answered within 3 months. No one may be disadvantaged for a report made in good faith.",
        ]),
        ("17 Data protection", [
            "Customer and employee data may only be processed for the purpose for which it was collected. "
            "Personal data must not be stored on private devices or in private cloud accounts. The data "
            "protection officer, reachable at privacy@northwind.example, must be informed of any data breach "
            "within 24 hours so that the authority can be notified within the legal limit of 72 hours.",
        ]),
    ]
